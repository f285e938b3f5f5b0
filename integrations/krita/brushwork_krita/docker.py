"""The Brushwork docker: style, method, strength, size, "paint selection only", Paint and Cancel, a
progress bar. The network runs on a worker thread; the document is read and written on Qt's."""

from __future__ import annotations

import threading
from typing import Any

from krita import DockWidget
from PyQt5.QtCore import QObject, pyqtSignal
from PyQt5.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QWidget,
)

from . import brushwork_client as bc
from . import layer

FILE_CHOICE = "a file:"


class Signals(QObject):
    progress = pyqtSignal(int, int, str)
    painted = pyqtSignal(object)
    failed = pyqtSignal(str)
    gallery = pyqtSignal(list)


class BrushworkDocker(DockWidget):
    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("Brushwork")
        self.signals = Signals()
        self.signals.progress.connect(self._show_progress)
        self.signals.painted.connect(self._write)
        self.signals.failed.connect(self._fail)
        self.signals.gallery.connect(self._fill_gallery)
        self.cancel_event = threading.Event()
        self.job_id: str | None = None
        self.pending: tuple[Any, Any, layer.Source, bool] | None = None

        root = QWidget(self)
        form = QFormLayout(root)
        self.style_choice = QComboBox()
        self.style_choice.addItem(FILE_CHOICE, None)
        refresh = QPushButton("Gallery")
        refresh.setToolTip("list the server's paintings")
        refresh.clicked.connect(self._load_gallery)
        row = QHBoxLayout()
        row.addWidget(self.style_choice, 1)
        row.addWidget(refresh)
        form.addRow("Style", row)
        self.style_file = QLineEdit()
        browse = QPushButton("…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.style_file, 1)
        row.addWidget(browse)
        form.addRow("Style file", row)
        self.method = QComboBox()
        self.method.addItems(["optimize", "fast"])
        form.addRow("Method", self.method)
        self.strength = QDoubleSpinBox()
        self.strength.setRange(0.0, 1.0)
        self.strength.setSingleStep(0.05)
        self.strength.setValue(0.5)
        form.addRow("Strength", self.strength)
        self.size = QSpinBox()
        self.size.setRange(16, 4096)
        self.size.setValue(512)
        self.size.setToolTip("long side of the painting; it is scaled to the canvas")
        form.addRow("Size", self.size)
        self.selection_only = QCheckBox("Paint selection only")
        form.addRow(self.selection_only)
        self.paint_button = QPushButton("Paint")
        self.paint_button.clicked.connect(self._paint)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self._cancel)
        row = QHBoxLayout()
        row.addWidget(self.paint_button)
        row.addWidget(self.cancel_button)
        form.addRow(row)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        form.addRow(self.progress)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        form.addRow(self.status)
        self.setWidget(root)

    def canvasChanged(self, canvas: Any) -> None:
        pass

    # Qt thread.

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Style image", "", "Images (*.png *.jpg *.jpeg *.webp *.tif *.bmp)"
        )
        if path:
            self.style_file.setText(path)
            self.style_choice.setCurrentIndex(0)

    def _load_gallery(self) -> None:
        def work() -> None:
            try:
                self.signals.gallery.emit(bc.discover().styles())
            except bc.BrushworkError as error:
                self.signals.failed.emit(str(error))

        threading.Thread(target=work, daemon=True).start()

    def _fill_gallery(self, styles: list[dict[str, Any]]) -> None:
        while self.style_choice.count() > 1:
            self.style_choice.removeItem(1)
        for style in styles:
            self.style_choice.addItem(f"{style['title']} ({style['artist']})", style["id"])
        self.status.setText(f"{len(styles)} paintings in the server's gallery")

    def _style_path(self) -> str:
        gallery_id = self.style_choice.currentData()
        if gallery_id:
            return layer.GALLERY_PREFIX + gallery_id
        if not self.style_file.text():
            raise bc.BrushworkError("choose a style image (a file, or one from the gallery)")
        return self.style_file.text()

    def _paint(self) -> None:
        try:
            document, node = layer.active_document_and_node()
            style_path = self._style_path()
            source = layer.read_layer(document, node)
        except bc.BrushworkError as error:
            self._fail(str(error))
            return
        self.pending = (document, node, source, self.selection_only.isChecked())
        self.cancel_event.clear()
        self.job_id = None
        self.paint_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setRange(0, 0)  # busy until the first progress
        self.status.setText("sending…")
        options = {
            "method": self.method.currentText(),
            "strength": self.strength.value(),
            "size": self.size.value(),
        }
        threading.Thread(target=self._work, args=(source, style_path, options), daemon=True).start()

    def _cancel(self) -> None:
        self.cancel_event.set()
        self.status.setText("cancelling…")
        job_id = self.job_id
        if job_id is not None:  # at once, also while the job waits in the queue
            threading.Thread(target=self._cancel_job, args=(job_id,), daemon=True).start()

    def _show_progress(self, done: int, total: int, state: str) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.status.setText(state)

    def _write(self, painting: Any) -> None:
        assert self.pending is not None
        document, node, source, selection_only = self.pending
        self.pending = None
        layer.write_layer(document, node, source, painting, selection_only=selection_only)
        self._idle("painted: a new layer above the active one")
        self.progress.setValue(1)

    def _fail(self, message: str) -> None:
        self.pending = None
        self._idle(message)

    def _idle(self, message: str) -> None:
        self.paint_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.status.setText(message)

    # Worker threads: no Krita calls here.

    def _work(self, source: layer.Source, style_path: str, options: dict[str, Any]) -> None:
        def progress(job: dict[str, Any]) -> None:
            self.job_id = job["id"]
            state = job["state"]
            if state == "queued" and job.get("queue_position"):
                state = f"waiting: {job['queue_position']} jobs ahead"
            self.signals.progress.emit(job["progress"]["done"], job["progress"]["total"], state)

        try:
            painting = layer.paint(
                source, style_path, progress=progress, cancelled=self.cancel_event.is_set, **options
            )
        except bc.BrushworkError as error:
            self.signals.failed.emit(str(error))
        else:
            self.signals.painted.emit(painting)

    def _cancel_job(self, job_id: str) -> None:
        try:
            bc.discover().cancel(job_id)
        except bc.BrushworkError as error:
            self.signals.failed.emit(str(error))
