"""mgrade-edge: take trained mGRADE sequence models to microcontrollers."""

__version__ = "0.1.0"
