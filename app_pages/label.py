"""Label page: turn a pile of videos into video-level labels, and the labels into a better model."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import streamlit as st

from core import labels as lab
from core.errors import DataError, VigilError
from core.paths import server_paths
from core.registry import specs
from ui import label_view as view
from ui.auth import identity, recorded_name
from ui.cache import get_scorer, get_store
from ui.label_state import LabelSession, session
from ui.model_picker import model_picker

log = logging.getLogger("vigil.label")
ORDERS = {"uncertainty": "Least certain first", "added": "Order added"}
FEW_PER_CLASS = 10  # below this many videos of either label a trained detector is a rough start

st.title("Label")
st.caption(
    "Label whole videos normal or abnormal, then train a detector on them. Model suggestions are only "
    "suggestions until you confirm them. Keys: **N** normal · **A** abnormal · **Y** accept suggestion · "
    "**←/→** previous/next."
)

state: LabelSession = session()
store = get_store()
labels = lab.LabelStore(store.db)


def show_messages(area: str) -> None:
    """Messages left by button callbacks for this part of the page (callbacks cannot draw in place)."""
    for kind, text in state.pop_messages(area):
        getattr(st, kind)(text)


# --- settings -----------------------------------------------------------------------------------------
with st.sidebar:
    if identity().email:  # signed in: the identity replaces the free-text name
        st.caption(f"Labels are recorded as **{identity().email}**.")
    else:
        st.text_input("Your name", key="label_who", placeholder="recorded with every label")
    spec = model_picker(
        "label_model",
        "Suggestions from model",
        only_available=True,
        preferred=None,
        select=state.pending_model,  # a model just trained here: show its suggestions next
        empty="No model can run here, so there are no suggestions; labelling still works.",
    )
    if spec is not None and spec.name == state.pending_model:
        state.pending_model = None  # shown once; from now on the user's choice stands
    model, version = (spec.name, spec.version) if spec else (None, "")
    order = st.radio("Queue order", list(ORDERS), format_func=ORDERS.get, key="label_order")
    unlabelled_only = st.checkbox("Unlabelled only", key="label_unlabelled")
    auto = st.toggle("Analyse each video when shown", value=True, key="label_auto")
    st.toggle("Go to the next video after labelling", value=True, key="label_advance")  # read by set_label


# --- adding videos ------------------------------------------------------------------------------------
def add_folder() -> None:
    try:
        folder, found, added = labels.add_folder(st.session_state["label_folder"])
    except VigilError as err:
        state.flash("error", str(err), "add")
        return
    state.folder = str(folder)
    # the CSV fields follow the folder just added (set here: a keyed widget ignores a changed default)
    st.session_state["label_export_root"] = st.session_state["label_import_folder"] = str(folder)
    state.flash("success", f"{found} video(s) in {folder}; {added} new in the queue.", "add")


def add_history() -> None:
    try:
        found, added = labels.add_history()
    except VigilError as err:
        state.flash("error", str(err), "add")
        return
    state.flash("success", f"{found} video(s) in History; {added} new in the queue.", "add")


progress = labels.progress()
with st.expander("Add videos", expanded=progress.total == 0):
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    c1.text_input("Folder on the server", key="label_folder", placeholder="/data/cameras/2024-05")
    c2.button("Add folder", on_click=add_folder, key="label_add_folder")
    st.button("Add the videos from History", on_click=add_history, key="label_add_history")
    st.caption("Allowed folders: " + ", ".join(f"`{r}`" for r in lab.allowed_roots()) + " (VIGIL_LABEL_ROOTS).")
show_messages("add")
progress = labels.progress()  # again: a callback may just have added videos
view.progress(progress)


# --- scoring the queue for uncertainty order -----------------------------------------------------------
if model and progress.total:
    s1, s2 = st.columns([3, 1], vertical_alignment="bottom")
    limit = s2.number_input("At most", 1, 10_000, 100, key="label_score_limit", help="Videos scored per click")
    if s1.button(f"Score unlabelled videos with '{model}'", key="label_score", help="Needed for 'least certain first'"):
        bar = st.progress(0.0, text="Scoring…")
        try:
            done, problems = lab.score_queue(
                labels,
                model,
                version,
                store=store,
                scorer=get_scorer(model),
                limit=int(limit),
                progress=lambda f, m: bar.progress(f, m),
            )
            st.success(f"Scored {done} video(s).")
            for p in problems[:5]:
                st.warning(p)
        except VigilError as err:
            st.error(str(err))
        state.queue, state.queue_key = [], None  # new scores: re-order and start from the least certain

items = labels.queue(model, version, order=order, unlabelled_only=unlabelled_only)
key = (model, version, order, unlabelled_only, progress.total)
if state.queue_key != key:
    state.rebuild(items, key)


# --- navigation and labelling callbacks ---------------------------------------------------------------
def move(step: int) -> None:
    state.move(step)


def set_label(path: str, value: int, suggestion: lab.Suggestion | None) -> None:
    category = st.session_state.get(f"label_cat:{path}")
    try:
        saved = labels.set_label(
            Path(path),
            value,
            who=recorded_name(st.session_state.get("label_who", "")),
            category=category if value == 1 and category != "—" else None,
            note=st.session_state.get(f"label_note:{path}", ""),
            suggestion=suggestion,
        )
    except VigilError as err:
        state.flash("error", str(err))
        return
    state.flash("success", f"Saved: {saved.video.name} is **{saved.word}**.")
    if st.session_state.get("label_advance", True):
        state.move(1)


def label_panel(item: lab.QueueItem) -> None:
    """One video: navigation, player, score curve and thumbnails, the suggestion, the label buttons."""
    nav = st.columns([3, 8, 3], vertical_alignment="center")  # "← Previous" whole at 1024 px
    last = len(state.queue) - 1
    nav[0].button("← Previous", on_click=move, args=(-1,), shortcut="Left", key="label_prev", disabled=state.index == 0)
    nav[1].markdown(f"**{state.index + 1} / {len(state.queue)}** · `{item.name}` · from {item.source}")
    nav[2].button("Next →", on_click=move, args=(1,), shortcut="Right", key="label_next", disabled=state.index >= last)

    path = str(item.path)
    if (reason := view.unreadable(item.path)) is not None:  # no player, curve or label buttons for it
        view.skipped(item.name, reason)
        return
    suggestion = item.suggestion
    record = None
    left, right = st.columns([3, 2])
    with left:
        view.player(item.path, curve=bool(model and auto))
        if model and (auto or st.button("Analyse this video", key="label_analyse")):
            try:
                with st.spinner(f"Analysing {item.name} with {model}…"):
                    record, suggestion = lab.suggest(
                        labels, item.path, model, store=store, scorer=get_scorer(model), model_version=version
                    )
            except VigilError as err:
                st.error(str(err))
            except Exception as err:  # a bug in a model must not put a traceback on the page; the log keeps it
                log.exception("analysing %s with %s failed", item.path, model)
                st.error(f"Could not analyse {item.name} with {model}: internal error ({type(err).__name__}).")
        if record is not None:
            view.analysis(record)

    with right:
        view.current_label(item.label)
        view.suggestion_note(suggestion, model or "—", record.segments if record is not None else None)
        categories = ["—", *lab.CATEGORIES]
        current_cat = item.label.category if item.label and item.label.category else "—"
        st.selectbox(
            "Category (abnormal only)", categories, index=categories.index(current_cat), key=f"label_cat:{path}"
        )
        st.text_input("Note", value=item.label.note if item.label else "", key=f"label_note:{path}")
        suggested = suggestion.label if suggestion else None
        current = item.label.label if item.label else None
        b1, b2 = st.columns(2)
        for col, value, text, shortcut in ((b1, 0, "Normal", "N"), (b2, 1, "Abnormal", "A")):
            col.button(
                text,
                on_click=set_label,
                args=(path, value, suggestion),
                shortcut=shortcut,
                key=f"label_{text.lower()}",
                # the label only: a highlighted suggestion read as "already labelled" (the suggestion is in words)
                type="primary" if current == value else "secondary",
                width="stretch",
            )
        st.button(
            "Accept suggestion" + (f" ({view.word(suggested)})" if suggestion else ""),
            on_click=set_label,
            args=(path, suggested, suggestion),
            shortcut="Y",
            key="label_accept",
            disabled=suggestion is None,
            width="stretch",
        )
        with st.expander("History of this video's label"):
            view.history(labels.history(item.path))


show_messages("label")
by_path = {str(i.path): i for i in labels.items(model, version)}
if str(state.current) not in by_path:  # removed since the queue was built
    state.rebuild(items, key)
if state.queue and str(state.current) in by_path:
    label_panel(by_path[str(state.current)])
else:
    st.info("The queue is empty: add a folder of videos or the videos from History above.")


# --- CSV ----------------------------------------------------------------------------------------------
st.divider()
st.subheader("Labels as CSV")
st.caption(
    "Format: `video,label[,category][,group]`, label 1/abnormal or 0/normal — what `python -m core train` reads."
)
exp, imp = st.columns(2)
with exp:
    root_text = st.text_input("Paths relative to", key="label_export_root")
    root = Path(root_text).expanduser() if root_text.strip() else None
    csv_text = labels.export_csv(root)
    st.download_button(
        "Download labels.csv", csv_text, file_name="labels.csv", mime="text/csv", key="label_export", on_click="ignore"
    )
    with st.expander("Preview"):
        lines = csv_text.splitlines()
        st.code("\n".join(lines[:51]) + ("\n…" if len(lines) > 51 else ""), language="csv")


def import_csv() -> None:
    upload = st.session_state.get("label_import_file")
    server_path = st.session_state.get("label_import_path", "").strip()
    folder = st.session_state.get("label_import_folder", "").strip()
    try:
        if upload is not None:
            text, name = upload.getvalue().decode("utf-8-sig"), upload.name
        elif server_path:
            # Only a file inside the data roots, symlinks followed (a link to /etc/... is refused, not read).
            csv_path = server_paths().check(server_path, "file")
            text, name = csv_path.read_text(encoding="utf-8-sig"), csv_path.name
            folder = folder or str(csv_path.parent)
        else:
            raise DataError("Choose a CSV file to import.")
        result = labels.import_csv(text, folder, recorded_name(st.session_state.get("label_who", "")), source_name=name)
    except UnicodeDecodeError:
        state.flash("error", "That file is not UTF-8 text; save it as CSV (UTF-8) and try again.", "csv")
        return
    except VigilError as err:
        state.flash("error", str(err), "csv")
        return
    state.flash(
        "success",
        f"Imported {result.rows} row(s): {result.changed} label(s) changed, {result.added_videos} new video(s).",
        "csv",
    )


with imp:
    st.file_uploader("CSV file", type=["csv"], key="label_import_file")
    st.text_input("…or a CSV path on the server", key="label_import_path")
    st.text_input("Video paths are relative to (folder)", key="label_import_folder")
    st.button("Import", on_click=import_csv, key="label_import")
show_messages("csv")


# --- training -----------------------------------------------------------------------------------------
st.divider()
st.subheader("Train a detector from these labels")
labelled = labels.labelled()
kind_statuses = {s.kind: s for s in lab.training_kind_statuses()}
kinds = {k: s.hint for k, s in kind_statuses.items()}


def start_training(use_key: str | None) -> None:
    """``use_key``: the multiselect holding the chosen videos, or None to train on every labelled one."""
    if state.job is not None and not state.job.done:
        state.flash("warning", "A training run is already going; wait for it to finish.", "train")
        return
    chosen = st.session_state.get(use_key) if use_key else None
    try:
        name = lab.next_version_name(st.session_state.get("label_train_base", ""), specs())
        items = lab.training_items(labels, chosen)
        if not items:
            raise DataError("Choose at least one labelled video.")
    except VigilError as err:
        state.flash("error", str(err), "train")
        return
    kind = st.session_state["label_train_kind"]
    if kind in kind_statuses and not kind_statuses[kind].available:  # the button is disabled; a stale click still
        state.flash("error", f"**{kind}** cannot be trained here: {kind_statuses[kind].reason}.", "train")
        return
    description = f"{kinds.get(kind) or kind}; trained on the Label page from {len(items)} labelled videos."
    state.job = lab.TrainingJob(kind, items, name, description).start()
    state.job_seen = False


if len(labelled) < 2:
    st.info("Label at least one normal and one abnormal video to train a detector.")
else:
    abnormal = sum(i.label.label for i in labelled)
    if min(abnormal, len(labelled) - abnormal) < FEW_PER_CLASS:
        st.warning(
            f"{abnormal} abnormal and {len(labelled) - abnormal} normal videos make a weak detector: it trains, but "
            f"its suggestions (however confident they sound) are a rough start. Aim for {FEW_PER_CLASS} or more of "
            "each; the cross-validated figures after training say how far to trust it."
        )
    subset = st.radio(
        "Train on",
        ["all", "choose"],
        format_func={
            "all": f"All {len(labelled)} labelled videos ({abnormal} abnormal, {len(labelled) - abnormal} normal)",
            "choose": "Choose videos…",
        }.get,
        key="label_train_subset",
        horizontal=True,
    )
    use_key = None
    if subset == "choose":
        options = [str(i.path) for i in labelled]
        # a new key when the labelled set changes: a kept selection would silently leave new labels out
        use_key = f"label_train_use:{hashlib.sha1(''.join(options).encode()).hexdigest()[:12]}"
        names_by_path = {str(i.path): f"{i.name} · {i.label.word}" for i in labelled}
        st.multiselect(
            "Videos to train on",
            options,
            default=options,
            format_func=names_by_path.get,
            key=use_key,
        )
    c1, c2 = st.columns(2)
    ready = [k for k, s in kind_statuses.items() if s.available]
    kind = c1.selectbox(
        "Kind",
        list(kinds),
        index=list(kinds).index(ready[0]) if ready else 0,  # the default is a kind that can run here
        format_func=lambda k: (
            (f"{k} — {kinds[k]}" if kinds[k] else k) if kind_statuses[k].available else f"{k} — not available"
        ),
        key="label_train_kind",
        help="Every kind the trainer knows; unavailable ones say what is missing.",
    )
    c2.text_input("Model name", value="detector", key="label_train_base")
    try:
        planned = lab.next_version_name(st.session_state.get("label_train_base", "detector"), specs())
        st.caption(f"Will be saved as **{planned}**; older versions are kept and stay selectable.")
    except VigilError as err:
        st.error(str(err))
    can_train = kind is not None and kind_statuses[kind].available
    if not can_train and kind is not None:
        st.warning(
            f"**{kind}** cannot be trained here: {kind_statuses[kind].reason}. "
            f"Available now: {', '.join(ready) or 'none'}."
        )
    running = state.job is not None and not state.job.done
    st.button(
        "Train",
        on_click=start_training,
        args=(use_key,),
        key="label_train",
        type="primary",
        disabled=running or not can_train,
    )


@st.fragment(run_every=1.0 if state.job is not None and not state.job.done else None)
def training_status() -> None:
    job = state.job
    if job is None:
        return
    fraction, message, report, error = job.snapshot()
    if error:
        st.error(f"Training '{job.name}' failed: {error}")
    elif report is None:
        st.progress(fraction, text=f"Training {job.name}: {message}")
    else:
        st.success(f"Model **{report.name}** is trained and registered: pick it on Analyze, Live and here.")
        abnormal = sum(1 for i in job.items if i.label == 1)
        if min(abnormal, len(job.items) - abnormal) < FEW_PER_CLASS:
            st.warning(
                f"Trained on {abnormal} abnormal and {len(job.items) - abnormal} normal videos: treat its suggestions "
                "as a rough start, and check each one."
            )
        view.metrics(report.metrics)
        st.caption(f"Model card: `{report.card_path}`")
    if job.done and not state.job_seen:
        state.job_seen = True
        state.pending_model = report.name if report is not None else None
        st.rerun()  # once: stop polling and let the model lists see the new version


show_messages("train")
training_status()

base = lab.base_name(st.session_state.get("label_train_base", "detector"))
versions_of_base = [s for s in specs().values() if lab.base_name(s.name) == base and s.name != base]
if versions_of_base:
    with st.expander(f"Versions of '{base}'", expanded=False):
        st.dataframe(
            [
                {
                    "model": s.name,
                    "version": s.version,
                    "cv AUC": s.metrics.get("cv_auc"),
                    "videos": s.metrics.get("n_videos"),
                }
                for s in sorted(versions_of_base, key=lambda s: s.version)
            ],
            hide_index=True,
        )
