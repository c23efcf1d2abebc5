// The HTML report: one self-contained file. Checked statically (no src, href or url()
// outside data:, every embedded image decodes) and in a real browser (Debian's
// chromium-headless-shell, no network: every image loaded, no script or console error);
// a deliberately broken image must fail the browser check.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "run_binary.hpp"

using namespace macrodyn::e2e;
namespace fs = std::filesystem;

namespace {

// A judged run's directory with its report (seconds).
const std::string& run_dir() {
  static const std::string dir = [] {
    const std::string d = tmp("report_run_" + std::to_string(getpid()));
    fs::remove_all(d);
    const Result r = run("run --config " MACRODYN_SOURCE_DIR "/tests/e2e/tiny.ini --run.progress false --closure.kind none "
                         "--learn.steps 100 --learn.min_fill 64 --learn.batch 256 --truth.runs 30 --truth.sweeps 20 "
                         "--verdict.ensemble 4 --learn.out " + d);
    INFO(r.out << r.err);
    REQUIRE(r.code == 0);
    return d;
  }();
  return dir;
}

// Static check in Debian's Python: prints "ok N" (N images) or what is wrong.
std::string static_check(const std::string& html) {
  const std::string py = tmp("report_check_" + std::to_string(getpid()) + ".py");
  std::ofstream(py) << R"PY(import re, sys, base64, xml.etree.ElementTree as ET
text = open(sys.argv[1], encoding='utf-8').read()
refs = re.findall(r'''(?:src|href)\s*=\s*["']([^"']*)["']''', text) + re.findall(r'''url\(\s*["']?([^"')]*)''', text)
bad = [r for r in refs if not r.startswith('data:')]
if bad: print('external reference', bad[0][:80]); sys.exit()
n = 0
for kind, data in re.findall(r'src="data:image/(svg\+xml|png);base64,([^"]*)"', text):
    raw = base64.b64decode(data, validate=True)
    if kind == 'png':
        if not raw.startswith(b'\x89PNG\r\n\x1a\n'): print('not a PNG'); sys.exit()
    else:
        ET.fromstring(raw)
    n += 1
print('ok', n)
)PY";
  const std::string out = tmp("report_check_" + std::to_string(getpid()) + ".out");
  std::system(("/usr/bin/python3 " + py + " " + html + " > " + out + " 2>&1").c_str());
  return slurp(out);
}

// The report alone in a fresh directory (nothing beside it), with a probe script that
// writes what it saw into the DOM; chromium's --dump-dom then gives the DOM after load.
std::string browser_probe(const std::string& report, const std::string& extra_body = "") {
  const std::string dir = tmp("report_browser_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir + "/profile");
  std::string html = slurp(report);
  const std::string probe =
      "<script>window.__errors=[];window.addEventListener('error',function(e){window.__errors.push(String(e.message))});"
      "var __ce=console.error;console.error=function(){window.__errors.push('console.error');__ce.apply(console,arguments)};"
      "window.addEventListener('load',function(){var im=Array.prototype.slice.call(document.images);"
      "var broken=im.filter(function(i){return !(i.complete&&i.naturalWidth>0)}).length;"
      "var d=document.createElement('div');d.id='probe';d.textContent='PROBE images='+im.length+' broken='+broken+"
      "' errors='+window.__errors.length+' END';document.body.appendChild(d)});</script>";
  html.insert(html.find("<head>") + 6, probe);
  html.insert(html.rfind("</body>"), extra_body);
  const std::string page = dir + "/report.html";
  std::ofstream(page) << html;
  // A dead proxy: any network access fails; --no-sandbox as root.
  const std::string cmd = "timeout 120 chromium-headless-shell --no-sandbox --disable-gpu --user-data-dir=" + dir +
                          "/profile --proxy-server=127.0.0.1:9 --virtual-time-budget=5000 --dump-dom file://" + page +
                          " > " + dir + "/dom.html 2>/dev/null";
  std::system(cmd.c_str());
  const std::string dom = slurp(dir + "/dom.html");
  const std::string marker = "<div id=\"probe\">PROBE ";
  const auto a = dom.find(marker), b = dom.find(" END</div>", a == std::string::npos ? 0 : a);
  return a == std::string::npos || b == std::string::npos ? "no probe in the DOM (" + std::to_string(dom.size()) + " bytes)"
                                                          : dom.substr(a + marker.size(), b - a - marker.size());
}

}  // namespace

TEST_CASE("the report is one self-contained file whose images all decode", "[e2e][report]") {
  const std::string report = run_dir() + "/report.html";
  REQUIRE(fs::exists(report));
  const std::string html = slurp(report);
  CHECK(html.find("<h2>Verdict</h2>") != std::string::npos);
  CHECK(html.find("verdict: ") != std::string::npos);
  CHECK(html.find("<h2>Prediction against truth</h2>") != std::string::npos);
  CHECK(html.find("<h2>Training</h2>") != std::string::npos);
  CHECK(html.find("<h3>config.ini</h3>") != std::string::npos);
  const std::string check = static_check(report);
  INFO(check);
  // Three band plots (m0 = -0.5, 0, 0.5), the loss per step and the per-epoch history
  // (training and held-out validation).
  CHECK(check == "ok 5\n");
  CHECK(html.find("held-out validation pairs (history.csv)") != std::string::npos);
  // Figures in the order of their initial condition, captioned with their files.
  const auto at = [&](const std::string& m0) { return html.find("<figcaption>file bands_m0_" + m0 + ".png"); };
  REQUIRE(at("-0.5") != std::string::npos);
  REQUIRE(at("0") != std::string::npos);
  REQUIRE(at("0.5") != std::string::npos);
  CHECK(at("-0.5") < at("0"));
  CHECK(at("0") < at("0.5"));
}

TEST_CASE("macrodyn report rebuilds the same report from the files", "[e2e][report]") {
  const std::string report = run_dir() + "/report.html";
  const std::string before = slurp(report);
  fs::remove(report);
  const Result r = run("report " + run_dir());
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(slurp(report) == before);
  const Result bad = run("report " + tmp("no_such_dir"));
  CHECK(bad.code == 3);
  CHECK(bad.err.find("is not a directory") != std::string::npos);
}

TEST_CASE("the report renders in a browser without network and a broken image is caught", "[e2e][report][browser]") {
  const std::string report = run_dir() + "/report.html";
  CHECK(browser_probe(report) == "images=5 broken=0 errors=0");
  // The check must be able to fail: an image that does not decode.
  CHECK(browser_probe(report, "<img src=\"data:image/png;base64,iVBORw0KGgoAAAA\">") == "images=6 broken=1 errors=0");
}
