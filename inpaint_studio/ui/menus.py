"""The main window's menus, toolbar and shortcuts (every action calls a window method)."""

from __future__ import annotations

from PySide6.QtGui import QAction, QActionGroup, QKeySequence

from ..core.pixels.tools import tool_specs


def act(w, text: str, slot, shortcut=None, menu=None, checkable=False, name=None) -> QAction:
    a = QAction(text, w, checkable=checkable)
    if shortcut:
        a.setShortcuts(
            [QKeySequence(s) for s in shortcut]
            if isinstance(shortcut, list | tuple)
            else [QKeySequence(shortcut)]
        )
    if name:
        a.setObjectName(name)
    a.triggered.connect(slot)
    if menu is not None:
        menu.addAction(a)
    w.addAction(a)
    return a


def build_menus(w) -> None:
    """File, Edit, Tools and View menus, the tools toolbar, and the canvas keys (1–8, Enter)."""
    files = w.files
    mb = w.menuBar()
    f = mb.addMenu("&File")
    act(w, "&Open…", files.open_dialog, QKeySequence.StandardKey.Open, f)
    act(w, "&Save project", lambda: files.save(), QKeySequence.StandardKey.Save, f)
    act(
        w,
        "Save project &as…",
        lambda: w.spawn(files.save_interactive(force_dialog=True)),
        QKeySequence("Ctrl+Shift+S"),
        f,
    )
    w.recent_menu = f.addMenu("Open &Recent")
    act(w, "&Paste image", files.paste, QKeySequence.StandardKey.Paste, f)
    f.addSeparator()
    act(w, "&Export composite…", files.export_dialog, "Ctrl+E", f)
    act(
        w,
        "Export &layers (PSD, ORA)…",
        files.export_layers_dialog,
        "Ctrl+Alt+E",
        f,
        name="exportLayersAction",
    )
    act(w, "Export &mask…", files.export_mask_dialog, "Ctrl+Shift+E", f)
    act(w, "&Import mask…", files.import_mask_dialog, None, f)
    f.addSeparator()
    act(w, "Result &journal…", w.show_journal, None, f)
    act(w, "&Preferences…", w.preferences, [QKeySequence.StandardKey.Preferences, "Ctrl+,"], f)
    act(w, "&Quit", w.close, QKeySequence.StandardKey.Quit, f)
    e = mb.addMenu("&Edit")
    w.undo_action = act(w, "&Undo", w.undo, "Ctrl+Z", e, name="undoAction")
    w.redo_action = act(w, "&Redo", w.redo, ["Ctrl+Shift+Z", "Ctrl+Y"], e, name="redoAction")
    e.addSeparator()
    act(w, "&Invert mask", w.invert_mask, "Ctrl+I", e)
    act(w, "&Clear mask", w.clear_mask, "Delete", e)
    act(w, "&Grow mask…", lambda: w.grow_dialog(1), None, e)
    act(w, "&Shrink mask…", lambda: w.grow_dialog(-1), None, e)
    img = mb.addMenu("&Image")
    act(w, "E&xpand canvas…", w.expand_dialog, "Ctrl+Alt+C", img, name="expandAction")
    t = mb.addMenu("&Tools")
    w.tool_group = QActionGroup(w)
    w.tool_actions = {}
    for spec in tool_specs():  # the tool table: one row a tool
        a = act(
            w,
            spec.label,
            lambda _=False, tl=spec.name: w.set_tool(tl),
            spec.key,
            t,
            checkable=True,
            name=f"tool_{spec.name}",
        )
        a.setToolTip(f"{spec.help} ({spec.key})")
        w.tool_group.addAction(a)
        w.tool_actions[spec.name] = a
    w.tool_actions["brush"].setChecked(True)
    t.addSeparator()
    act(w, "Smaller brush", lambda: w.brush_step(-1), "[", t)
    act(w, "Larger brush", lambda: w.brush_step(1), "]", t)
    act(w, "Much smaller brush", lambda: w.brush_step(-1, True), "Shift+[", None)
    act(w, "Much larger brush", lambda: w.brush_step(1, True), "Shift+]", None)
    act(w, "Wand tolerance…", w.tolerance_dialog, None, t)
    v = mb.addMenu("&View")
    for dock in w.docks.values():
        v.addAction(dock.toggleViewAction())
    v.addSeparator()
    c = w.canvas
    act(w, "Zoom &in", lambda: c.set_zoom(c.zoom * 1.25), ["Ctrl+=", "Ctrl++"], v)
    act(w, "Zoom &out", lambda: c.set_zoom(c.zoom / 1.25), "Ctrl+-", v)
    act(w, "&Fit", c.fit, "Ctrl+0", v)
    act(w, "&100 %", c.zoom_actual, "Ctrl+1", v)
    act(w, "Zoom to &mask", w.zoom_to_mask, "Ctrl+2", v, name="zoomToMaskAction")
    w.split_action = act(
        w,
        "&Before / after split",
        lambda on: w.toggle_split(on),
        "Y",
        v,
        checkable=True,
        name="splitAction",
    )
    w.overlay_action = act(w, "&Mask overlay", w.toggle_overlay, "M", v, checkable=True)
    w.overlay_action.setChecked(True)
    act(w, "Mask &colour…", w.pick_mask_colour, None, v)
    layers = mb.addMenu("&Layers")
    for i in range(1, 9):
        act(
            w,
            f"Variant {i}",
            lambda _=False, n=i: w.show_variant(n),
            str(i),
            layers if i <= 8 else None,
        )
    layers.addSeparator()
    act(w, "&Accept variant", w.accept_variant, ["Return", "Enter"], layers)
    act(w, "&Discard variant", w.discard_variant, None, layers)
    act(w, "Discard &others", w.discard_others, None, layers)
    act(w, "Discard &all", w.discard_all, None, layers, name="discardAllAction")
    act(w, "&Re-blend", w.reblend_selected, None, layers, name="reblendAction")
    act(w, "Render &final", w.render_at_quality, None, layers)
    h = mb.addMenu("&Help")
    act(
        w,
        "&Keyboard shortcuts",
        w.show_shortcuts,
        QKeySequence.StandardKey.HelpContents,
        h,
        name="helpAction",
    )
    tb = w.addToolBar("Tools")
    tb.setObjectName("toolsToolbar")
    for a in w.tool_actions.values():
        tb.addAction(a)
    tb.addWidget(w.brush)
    files.update_recent_menu()
