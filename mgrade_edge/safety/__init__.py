"""Guards that keep bad input from costing the user files, memory or the process itself.

outdir   output directories: what --force may replace, and a final move that never replaces anything
signals  SIGTERM/SIGHUP clean up like Ctrl-C, and a private temp dir for third-party temp files
sandbox  TFLite models from an artifact directory are checked and test-run in a child process first
bounds   numeric options and model sizes, checked before anything large is allocated
"""
