"""Screenshots of the built docs in a headless Chromium (Qt WebEngine), to look at pages as a reader would.

    python -m venv /tmp/qt && /tmp/qt/bin/pip install PyQt6 PyQt6-WebEngine     # once; not a project dependency
    .venv/bin/mkdocs build --site-dir /tmp/site
    /tmp/qt/bin/python scripts/docs_screenshots.py /tmp/site/index.html=home.png /tmp/site/api/knapsack/index.html=api.png

Each argument is ``PAGE.html=OUT.png``; pages are rendered at 1280x1600 offscreen, 2.5 s after they load (MathML and
images included)."""

import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox --disable-gpu")

from PyQt6.QtCore import QSize, QTimer, QUrl  # noqa: E402
from PyQt6.QtWebEngineWidgets import QWebEngineView  # noqa: E402
from PyQt6.QtWidgets import QApplication  # noqa: E402


def main(pairs: list[str]) -> int:
    app = QApplication(sys.argv[:1])
    view = QWebEngineView()
    view.resize(QSize(1280, 1600))
    todo = [p.split("=", 1) for p in pairs]

    def load_next():
        if not todo:
            app.quit()
            return
        view.load(QUrl.fromLocalFile(os.path.abspath(todo[0][0])))

    def grab():
        page, out = todo.pop(0)
        view.grab().save(out)
        print(f"{page} -> {out}", flush=True)
        load_next()

    view.loadFinished.connect(lambda ok: QTimer.singleShot(2500, grab))
    view.show()
    load_next()
    QTimer.singleShot(30_000 * max(1, len(todo)), app.quit)
    app.exec()
    return 0 if not todo else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
