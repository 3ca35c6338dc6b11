"""A screenshot of a local file in headless Chromium (Debian's `chromium`), at one device pixel
per CSS pixel so that a page's coordinates are the PNG's."""

import os
import shutil
import subprocess

CHROMIUM = os.environ.get("CHROMIUM", "chromium")
TIMEOUT = 120


def require_chromium():
    """The browser's path; an assertion (never a skip) when it is missing: CI installs it."""
    path = shutil.which(CHROMIUM)
    assert path, ("%s is not installed: `apt-get install chromium` (.ci/run and `make deps` "
                  "install it)" % CHROMIUM)
    return path


def _argv(width, height, profile):
    return [require_chromium(), "--headless", "--no-sandbox", "--disable-gpu",
            "--hide-scrollbars", "--force-device-scale-factor=1", "--no-first-run",
            "--user-data-dir=" + profile, "--window-size=%d,%d" % (width, height),
            "--virtual-time-budget=5000"]


def _run(argv):
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=TIMEOUT, errors="replace")


def page_after_scripts(page, width, height, profile):
    """The DOM of `page` as its scripts left it (five seconds of virtual time), as HTML text."""
    result = _run(_argv(width, height, profile) + ["--dump-dom", "file://" + os.path.abspath(page)])
    assert result.stdout.strip(), "chromium printed no DOM:\n" + result.stderr[-2000:]
    return result.stdout


def screenshot(page, png, width, height, profile):
    """Load `page` (a file path) in a `width` x `height` window and write its PNG to `png`; the
    page's scripts get five seconds of virtual time to draw.  `profile` is an empty folder for
    the browser's profile, so parallel runs do not share one."""
    result = _run(_argv(width, height, profile) + ["--screenshot=" + png,
                                                   "file://" + os.path.abspath(page)])
    assert os.path.exists(png), "chromium wrote no screenshot:\n" + result.stderr[-2000:]
    return png


def screenshot_pages(pages, png, width, profile):
    """One screenshot of several local pages, stacked in frames of their own (each page sees a
    window of its own size, as a browser tab would show it): one browser start instead of one
    per page.  `pages` is [(path, height)]; returns the y offset of each page in the PNG."""
    offsets, frames, top = [], [], 0
    for path, height in pages:
        offsets.append(top)
        frames.append('<iframe src="%s" scrolling="no" style="position:absolute;left:0;top:%dpx;'
                      'width:%dpx;height:%dpx;border:0"></iframe>' % (
                          "file://" + os.path.abspath(path), top, width, height))
        top += height
    stack = os.path.splitext(png)[0] + "-frames.html"
    with open(stack, "w", encoding="utf-8") as handle:
        handle.write('<!DOCTYPE html><html><body style="margin:0">%s</body></html>\n'
                     % "".join(frames))
    screenshot(stack, png, width, top, profile)
    return offsets
