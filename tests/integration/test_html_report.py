"""test_html_report.py -- the HTML report as a person sees it: rendered by
headless Chromium (the screenshot is not blank, the charts region holds
ink), and its SVG charts where they belong (thresholds and regressions
first, a latency-over-time chart with p50/p95/p99 lines above requests per
second, a distribution with the threshold drawn).  Synthetic dumps from
bench/gen_dump, no servers."""
import os
import shutil
import struct
import subprocess
import tempfile
import xml.etree.ElementTree as ET
import zlib

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("PERFTAP_BUILD", os.path.join(REPO, "build"))
PERFTAP = os.path.join(BUILD, "perftap")
GEN = os.path.join(BUILD, "bench", "gen_dump")
THRESHOLDS = os.path.join(REPO, "baselines", "afirgen-thresholds.json")
X, S = "{http://www.w3.org/1999/xhtml}", "{http://www.w3.org/2000/svg}"

pytestmark = pytest.mark.skipif(
    not (os.access(PERFTAP, os.X_OK) and os.access(GEN, os.X_OK)),
    reason="build perftap and bench/gen_dump first")


def run(*args, check=0):
    p = subprocess.run([PERFTAP, *args], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == check, (p.returncode, p.stderr)
    return p


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    base = tmp_path_factory.mktemp("html")
    os.chmod(base, 0o700)
    dumps = []
    for name, extra in (("base", []),
                        ("slow", ["--slow-op", "GET /fir/{id}",
                                  "--slow-factor", "1.5"])):
        d = base / name
        os.makedirs(d, mode=0o700)
        p = subprocess.run([GEN, "-o", str(d), "-n", "30000", "-s", "5",
                            "--no-process", *extra], capture_output=True,
                           text=True, check=True, timeout=120)
        dumps.append(p.stdout.strip())
    bl = base / "base.json"
    run("baseline", "save", "-o", str(bl), dumps[0])
    out = base / "r.html"
    run("report", "--thresholds", THRESHOLDS, "--format", "html", "-o",
        str(out), dumps[1])
    cmp = base / "c.html"
    run("compare", "--baseline", str(bl), "--limit", "p95:10%", "--full",
        "--format", "html", "-o", str(cmp), dumps[1])
    return out, cmp


def png_pixels(path):
    """(width, height, rows of RGB(A) bytes) of an 8-bit PNG, unfiltered."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        n, typ = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if typ == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and ctype in (2, 6), (depth, ctype)
            bpp = 3 if ctype == 2 else 4
        elif typ == b"IDAT":
            idat += body
        pos += 12 + n
    raw, rows, prev = zlib.decompress(idat), [], bytearray(w * bpp)
    stride = w * bpp + 1
    for y in range(h):
        f, line = raw[y * stride], bytearray(raw[y * stride + 1:(y + 1) * stride])
        for i in range(len(line)):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                pr = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pr) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows


def ink(rows, bpp, y0, y1):
    """Non-white pixels in rows y0..y1."""
    n = 0
    for line in rows[y0:y1]:
        for i in range(0, len(line), bpp):
            if line[i] < 240 or line[i + 1] < 240 or line[i + 2] < 240:
                n += 1
    return n


def test_page_order_thresholds_regressions_then_charts(page):
    root = ET.parse(page[1]).getroot()
    titles = [h.text for h in root.iter(X + "h2")]
    assert titles[:2] == ["Against the baseline", "Latency over time"], titles
    regress = ["".join(tr.itertext()) for tr in root.iter(X + "tr")
               if tr.get("class") == "fail"]
    assert any("GET /fir/{id}" in t and "regression" in t for t in regress)
    root = ET.parse(page[0]).getroot()
    titles = [h.text for h in root.iter(X + "h2")]
    assert titles[:2] == ["Thresholds", "Latency over time"], titles
    th = [t for t in root.iter(X + "table") if t.get("class") == "thresholds"]
    results = {tr.findall(X + "td")[-1].text
               for tr in th[0].iter(X + "tr") if tr.findall(X + "td")}
    assert results <= {"pass", "fail", "no_match", "no_data"}
    assert "fail" in results and "pass" in results


def test_each_chart_has_percentile_lines_over_rps_bars(page):
    root = ET.parse(page[0]).getroot()
    charts = [d for d in root.iter(X + "div") if d.get("class") == "chart"]
    names = [d.find(X + "h3").text for d in charts]
    assert any(n.startswith("http ") for n in names), names
    assert any(n.startswith("sql ") for n in names), names
    assert any(n.startswith("redis ") for n in names), names
    for d in charts:
        ts = [s for s in d.iter(S + "svg") if s.get("class") == "latency-time"]
        assert len(ts) == 1
        lines = {p.get("class") for p in ts[0].iter(S + "polyline")}
        assert lines >= {"p50", "p95", "p99"}, lines
        bars = [g for g in ts[0].iter(S + "g") if g.get("class") == "rps"]
        assert len(bars) == 1 and len(list(bars[0].iter(S + "rect"))) > 10
        # Latency panel above the rps panel, both inside the picture.
        h = float(ts[0].get("height"))
        ys = [float(v.split(",")[1]) for p in ts[0].iter(S + "polyline")
              for v in p.get("points").split()]
        ry = [float(r.get("y")) for r in bars[0].iter(S + "rect")]
        assert max(ys) < min(ry) and max(ry) < h
        dist = [s for s in d.iter(S + "svg") if s.get("class") == "dist"]
        assert len(dist) == 1
        # Several bins a decade: at least 3 bars with a count.
        assert len([r for r in dist[0].iter(S + "rect")
                    if r.find(S + "title") is not None]) >= 3


def test_threshold_line_drawn_on_distribution_at_its_limit(page):
    root = ET.parse(page[0]).getroot()
    for d in root.iter(X + "div"):
        if d.get("class") == "chart" and d.find(X + "h3").text == \
                "http GET /fir/{id}":
            break
    else:
        pytest.fail("no chart for GET /fir/{id}")
    dist = [s for s in d.iter(S + "svg") if s.get("class") == "dist"][0]
    line = [l for l in dist.iter(S + "line") if l.get("class") == "threshold"]
    assert len(line) == 1
    assert line[0].find(S + "title").text.startswith("p(9")
    # The limit (100 ms or more) lies right of every bar under 10 ms.
    x = float(line[0].get("x1"))
    bars = [r for r in dist.iter(S + "rect") if r.find(S + "title") is not None]
    assert bars and x > float(bars[0].get("x"))


@pytest.mark.skipif(not shutil.which("chromium"), reason="no chromium")
def test_chromium_renders_charts_not_blank(page):
    with tempfile.TemporaryDirectory() as prof:
        shot = os.path.join(prof, "shot.png")
        subprocess.run(
            ["chromium", "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--user-data-dir=" + prof,
             "--window-size=1200,2400", "--screenshot=" + shot,
             "file://" + str(page[0])],
            capture_output=True, timeout=120, check=True)
        w, h, bpp, rows = png_pixels(shot)
    assert (w, h) == (1200, 2400)
    total = ink(rows, bpp, 0, h)
    assert total > w * h // 100, total  # more than 1% of the page inked
    # Every band of 400 px holds something: tables and charts all down
    # the page, not a blank screen with a heading.
    for y in range(0, h, 400):
        assert ink(rows, bpp, y, y + 400) > 2000, y
