"""RAM against sequence length T as a PNG (log axes): streaming mGRADE against the ways to get context
without a recurrent state. Built on a bare Agg canvas, so no global matplotlib backend is switched.
"""

from __future__ import annotations

from pathlib import Path

CURVES = {  # comparison key -> (label, line style)
    "streaming_mgrade": ("streaming mGRADE (state + scratch + I/O)", "-"),
    "window_reinference": ("non-streaming model re-run over a window W = T", "--"),
    "tcn": ("dilated TCN, k=3, covering Γ per layer", "-."),
    "tcn_covering_T": ("dilated TCN, k=3, covering T", ":"),
    "transformer_kv": ("Transformer KV cache, same width", (0, (5, 1, 1, 1))),
}


def write_plot(report: dict, path: str | Path) -> Path:
    """Write the plot of a profile_report dict to `path` (PNG); measured arenas appear as markers."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    comp = report["comparisons"]
    fig = Figure(figsize=(8, 5), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    for key, values in comp["bytes"].items():
        label, style = CURVES.get(key, (key, "-"))
        ax.plot(comp["T"], values, linestyle=style, linewidth=2, label=label)
    measured = report.get("measured") or {}
    if measured.get("engine") == "c":
        ax.axhline(measured["ram_bytes"], color="black", linewidth=1,
                   label=f"measured C step RAM incl. stack ({measured['ram_bytes']:,} B)")
    elif measured:
        ax.axhline(measured["arena_min_bytes"], color="black", linewidth=1,
                   label=f"measured TFLite Micro arena, streaming ({measured['arena_min_bytes']:,} B)")
        ax.scatter([int(k) for k in report["arena_bytes"]], list(report["arena_bytes"].values()), marker="o",
                   color="black", zorder=3, label="TFLite Micro recorded arena total after T streamed steps")
        windows = measured.get("window_reinference") or {}
        if windows:
            ax.scatter([int(w) for w in windows], [e["arena_min_bytes"] for e in windows.values()], marker="s",
                       color="tab:orange", zorder=3, label="measured arena, window re-run (W)")
    c = report["config"]
    ax.set(xscale="log", yscale="log", xlabel="sequence length T (steps)", ylabel=f"RAM ({report['precision']}, bytes)",
           title=f"mGRADE d={c['d_model']} L={c['n_layers']} Γ={c['kernel_size']}: memory against T")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, format="png")
    return path
