"""A helper plug-in for shoot.sh only (not for users): once Krita's window is up, show the Brushwork
docker, fill it in from $BW_SHOT_STYLE and press Paint."""

import os

from krita import Krita
from PyQt5.QtCore import QTimer

KEEP = ("brushwork_docker", "KisLayerBox")


def _paint() -> None:
    window = Krita.instance().activeWindow()
    if window is not None:  # no window manager under Xvfb: size the window ourselves
        window.qwindow().setGeometry(0, 0, 1280, 800)
    for docker in Krita.instance().dockers():
        if docker.objectName() not in KEEP:
            docker.hide()
        if docker.objectName() == "brushwork_docker":
            docker.show()
            docker.raise_()
            docker.style_file.setText(os.environ["BW_SHOT_STYLE"])
            docker.method.setCurrentText(os.environ.get("BW_SHOT_METHOD", "fast"))
            docker.strength.setValue(0.8)
            docker.size.setValue(384)
            docker.paint_button.click()


def _started() -> None:
    QTimer.singleShot(int(os.environ.get("BW_SHOT_DELAY_MS", "8000")), _paint)


Krita.instance().notifier().windowCreated.connect(_started)
