// `nicperf plot` on results the real binary saved on loopback; when Debian's chromium is there,
// each SVG is rendered headless and the screenshot checked for a drawn chart.
#include <doctest/doctest.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "harness.hpp"

using harness::Proc;
using harness::Server;
using harness::TempFile;
using Json = nlohmann::json;

namespace {

constexpr const char* kChromium = "/usr/bin/chromium";

// A file removed however the test ends.
struct Removed {
  std::string path;
  ~Removed() { unlink(path.c_str()); }
};

// Tags nest and close and there is one root: a renderer would reject less.
std::string xml_problem(const std::string& s) {
  std::vector<std::string> open;
  int roots = 0;
  std::size_t at = s.rfind("<?xml", 0) == 0 ? s.find("?>") + 2 : 0;
  for (std::size_t lt; (lt = s.find('<', at)) != std::string::npos; at = s.find('>', lt) + 1) {
    std::size_t gt = s.find('>', lt);
    if (gt == std::string::npos) return "an unclosed tag";
    std::string tag = s.substr(lt + 1, gt - lt - 1);
    if (std::count(tag.begin(), tag.end(), '"') % 2) return "unpaired quotes in <" + tag + ">";
    if (tag[0] == '/') {
      if (open.empty() || open.back() != tag.substr(1))
        return "</" + tag.substr(1) + "> closes nothing";
      open.pop_back();
      continue;
    }
    if (open.empty()) ++roots;
    if (tag.back() != '/') open.push_back(tag.substr(0, tag.find_first_of(" >")));
  }
  if (!open.empty()) return "<" + open.back() + "> never closed";
  return roots == 1 ? "" : "not exactly one root element";
}

// Every coordinate is a plain number: no NaN, no inf.
bool coordinates_finite(const std::string& svg) {
  std::regex attr(R"re(\s(x|y|x1|x2|y1|y2|cx|cy|r|width|height|points|viewBox)="([^"]*)")re");
  std::regex plain(R"([-0-9., ]+|100%)");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), attr); it != std::sregex_iterator();
       ++it)
    if (!std::regex_match((*it)[2].str(), plain)) return false;
  return true;
}

std::uint32_t be32(const std::string& s, std::size_t at) {
  auto b = [&](std::size_t i) { return std::uint32_t(static_cast<unsigned char>(s[at + i])); };
  return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}

struct Image {
  std::uint32_t width = 0, height = 0;
  std::vector<std::uint8_t> rgb;  // 3 bytes a pixel; empty when the PNG is of a kind not decoded
};

int paeth(int a, int b, int c) {
  int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

// An 8-bit RGB or RGBA, non-interlaced PNG (what Chromium writes), with zlib, which the
// project already links; other kinds give their size only.
Image decode_png(const std::string& png) {
  Image img;
  if (png.size() < 33 || png.compare(1, 3, "PNG") != 0) return img;
  img.width = be32(png, 16);
  img.height = be32(png, 20);
  int depth = png[24], type = png[25], interlace = png[28];
  if (depth != 8 || (type != 2 && type != 6) || interlace != 0) return img;
  std::string idat;
  for (std::size_t at = 8; at + 12 <= png.size();) {
    std::uint32_t len = be32(png, at);
    if (at + 12 + len > png.size()) return img;
    if (png.compare(at + 4, 4, "IDAT") == 0) idat += png.substr(at + 8, len);
    at += 12 + len;
  }
  std::size_t bpp = type == 6 ? 4 : 3, stride = img.width * bpp;
  std::vector<std::uint8_t> raw(img.height * (stride + 1));
  uLongf size = raw.size();
  if (uncompress(raw.data(), &size, reinterpret_cast<const Bytef*>(idat.data()), idat.size()) !=
          Z_OK ||
      size != raw.size())
    return img;
  std::vector<std::uint8_t> prev(stride, 0), cur(stride);
  for (std::uint32_t y = 0; y < img.height; ++y) {
    const std::uint8_t* row = &raw[y * (stride + 1)];
    for (std::size_t i = 0; i < stride; ++i) {
      int a = i >= bpp ? cur[i - bpp] : 0, b = prev[i], c = i >= bpp ? prev[i - bpp] : 0;
      int pred = row[0] == 1   ? a
                 : row[0] == 2 ? b
                 : row[0] == 3 ? (a + b) / 2
                 : row[0] == 4 ? paeth(a, b, c)
                               : 0;
      cur[i] = std::uint8_t(row[1 + i] + pred);
    }
    for (std::size_t x = 0; x < img.width; ++x)
      img.rgb.insert(img.rgb.end(), &cur[x * bpp], &cur[x * bpp] + 3);
    prev = cur;
  }
  return img;
}

// Renders the SVG headless and checks the screenshot shows a chart: mostly white, some ink, some
// colour.
Image check_screenshot(const std::string& svg, const std::string& png,
                       std::size_t max_ink_tenths = 6, std::uint32_t height = 600) {
  std::string profile = harness::temp_path();
  unlink(profile.c_str());
  Proc chromium("/usr/bin/timeout",
                {"-k", "5", "90", kChromium, "--headless", "--no-sandbox", "--disable-gpu",
                 "--user-data-dir=" + profile, "--screenshot=" + png,
                 "--window-size=1000," + std::to_string(height), "file://" + svg});
  int code = chromium.wait(120);
  std::filesystem::remove_all(profile);
  CAPTURE(chromium.err());
  CHECK(code == 0);
  std::string bytes = harness::slurp(png);
  REQUIRE(bytes.size() > 8000);  // a blank 1000x600 PNG is far smaller
  Image img = decode_png(bytes);
  CHECK(img.width == 1000);
  CHECK(img.height == height);
  if (img.rgb.empty()) {
    MESSAGE("screenshot is not 8-bit RGB(A): checked its size only");
    return img;
  }
  std::size_t pixels = img.rgb.size() / 3, ink = 0, colour = 0;
  std::size_t most_ink = pixels * max_ink_tenths / 10;  // a flame graph's frames fill most
  for (std::size_t i = 0; i < img.rgb.size(); i += 3) {
    auto [lo, hi] = std::minmax({img.rgb[i], img.rgb[i + 1], img.rgb[i + 2]});
    ink += lo < 200;
    colour += hi - lo > 60;
  }
  CAPTURE(ink);
  CAPTURE(colour);
  CHECK(ink > pixels / 200);      // axes, text and data were drawn
  CHECK(ink < most_ink);          // on a white background
  CHECK(colour > pixels / 1000);  // the series' colours, not only black text
  return img;
}

// Coloured pixels in rows [from, to) of a screenshot: where a panel's data was drawn.
std::size_t colour_in_rows(const Image& img, std::uint32_t from, std::uint32_t to) {
  std::size_t colour = 0;
  for (std::uint32_t y = from; y < std::min(to, img.height); ++y)
    for (std::uint32_t x = 0; x < img.width; ++x) {
      const std::uint8_t* px = &img.rgb[(std::size_t(y) * img.width + x) * 3];
      auto [lo, hi] = std::minmax({px[0], px[1], px[2]});
      colour += hi - lo > 60;
    }
  return colour;
}

// Where NICPERF_PLOT_KEEP points, the SVGs and screenshots stay for a person to look at.
void keep(const std::string& path, const std::string& name) {
  const char* dir = std::getenv("NICPERF_PLOT_KEEP");
  if (dir && *dir)
    std::filesystem::copy_file(path, std::string(dir) + "/" + name,
                               std::filesystem::copy_options::overwrite_existing);
}

// Returns the screenshot (empty without chromium or when it is of a kind not decoded).
Image plot_and_check(const std::string& json, const std::string& name,
                     std::initializer_list<const char*> expect, std::uint32_t height = 600) {
  TempFile svg;
  Proc plot({"plot", json, "-o", svg.path});
  REQUIRE(plot.wait(20) == 0);
  CHECK(plot.err().empty());
  std::string text = harness::slurp(svg.path);
  CHECK(xml_problem(text) == "");
  CHECK(text.find("<svg xmlns=\"http://www.w3.org/2000/svg\"") != std::string::npos);
  CHECK(text.find("<script") == std::string::npos);
  CHECK(text.find("href") == std::string::npos);
  CHECK(coordinates_finite(text));
  for (const char* e : expect) CHECK(text.find(e) != std::string::npos);
  keep(svg.path, name + ".svg");
  // Chromium goes by the file names: the page must end in .svg, the screenshot in .png.
  Removed named{svg.path + ".svg"}, png{svg.path + ".png"};
  std::filesystem::copy_file(svg.path, named.path);
  Image img;
  if (access(kChromium, X_OK) == 0) {
    img = check_screenshot(named.path, png.path, 6, height);
    keep(png.path, name + ".png");
  } else {
    MESSAGE("chromium is not installed: SVG rendering not checked (apt-get install -y chromium)");
  }
  return img;
}

}  // namespace

TEST_CASE("nicperf plot draws a single test and a --compare result" *
          doctest::test_suite("parallel")) {
  Server s;
  REQUIRE(s.port() > 0);
  TempFile single, compare;
  auto a = s.client({"-t", "2", "-P", "2", "-J"}, 30);
  REQUIRE(a->wait(0) == 0);
  std::ofstream(single.path) << a->out();
  auto b = s.client({"--compare", "write,sendfile", "--repeat", "2", "-t", "1", "-J"}, 60);
  REQUIRE(b->wait(0) == 0);
  std::ofstream(compare.path) << b->out();

  // Both sides' per-interval CPU is in the result (the server's came back in the exchange).
  Json doc = Json::parse(a->out());
  REQUIRE(doc["intervals"].size() >= 2);
  for (const char* side : {"client", "server"}) {
    CAPTURE(side);
    const Json& cpu = doc["intervals"][0]["cpu"][side];
    REQUIRE(cpu.is_object());
    CHECK(cpu["user_percent"].get<double>() + cpu["kernel_percent"].get<double>() > 0);
  }
  // The CPU panels sit under the throughput: the page is taller than the window the other
  // charts get, and the screenshot's lower part holds their coloured layers.
  Image img =
      plot_and_check(single.path, "single",
                     {"Throughput per stream: 127.0.0.1", "2 streams", "stream 1", "stream 2",
                      "sum", "Gbit/s", "client CPU (stream threads)", "server CPU (stream threads)",
                      "% of one CPU", "<polygon", ">user<", ">kernel<"},
                     1200);
  if (!img.rgb.empty()) {
    CHECK(colour_in_rows(img, 450, 680) > img.width * 10);   // the client's panel
    CHECK(colour_in_rows(img, 780, 1000) > img.width * 10);  // the server's
  }
  plot_and_check(compare.path, "compare",
                 {"Send paths compared: 127.0.0.1", "2 rounds", "write", "sendfile", "Gbit/s",
                  "CPU s/GB", "sender", "receiver"});

  // Standard output works as well as a file.
  Proc out({"plot", compare.path, "-o", "-"});
  REQUIRE(out.wait(20) == 0);
  CHECK(xml_problem(out.out()) == "");
}

TEST_CASE("nicperf plot: bad input is a usage error on one line" *
          doctest::test_suite("parallel")) {
  TempFile bad;
  std::ofstream(bad.path) << "{\"hello\": 1}\n";
  for (const auto& args : {std::vector<std::string>{"plot", bad.path, "-o", "-"},
                           std::vector<std::string>{"plot", "/nonexistent/x.json", "-o", "-"},
                           std::vector<std::string>{"plot", bad.path}}) {
    harness::check_usage_error(args);
  }
}

// --profile-out's folded stacks as a flame graph, and two of them (write's and sendfile's
// senders) as a differential one; each rendered headless and checked for its frames.
TEST_CASE("nicperf plot draws flame graphs from --profile-out folded stacks" *
          doctest::test_suite("root")) {
  if (geteuid() != 0) {
    MESSAGE("skipping: kernel call chains need root (perf_event_paranoid 2)");
    return;
  }
  Server s;
  std::string dir = harness::temp_path();
  unlink(dir.c_str());
  auto c = s.client(
      {"--compare", "write,sendfile", "--repeat", "1", "-t", "1", "--profile-out", dir, "-J"}, 60);
  REQUIRE(c->wait(0) == 0);
  std::string write = dir + "/write-read-r1.client.folded";
  std::string sendfile = dir + "/sendfile-read-r1.client.folded";
  REQUIRE(std::filesystem::exists(write));
  REQUIRE(std::filesystem::exists(sendfile));
  for (bool diff : {false, true}) {
    TempFile svg;
    std::vector<std::string> args = {"plot", write, "-o", svg.path};
    if (diff) args.insert(args.end(), {"--base", sendfile});
    Proc plot(args);
    REQUIRE(plot.wait(20) == 0);
    CHECK(plot.err().empty());
    std::string text = harness::slurp(svg.path);
    CHECK(xml_problem(text) == "");
    CHECK(coordinates_finite(text));
    CHECK(text.find("<script") == std::string::npos);
    // The frames: the side at the root (a differential drops it), TCP's send below.
    CHECK(text.find("<title>all (") != std::string::npos);
    if (!diff) CHECK(text.find("<title>client (") != std::string::npos);
    CHECK(text.find("<title>tcp_sendmsg (") != std::string::npos);
    CHECK(text.find(diff ? "Differential flame graph" : "Flame graph") != std::string::npos);
    if (diff) CHECK(text.find("difference +") != std::string::npos);
    std::string name = diff ? "flame_diff" : "flame";
    keep(svg.path, name + ".svg");
    Removed named{svg.path + ".svg"}, png{svg.path + ".png"};
    std::filesystem::copy_file(svg.path, named.path);
    if (access(kChromium, X_OK) == 0) {
      check_screenshot(named.path, png.path, 10);  // frames fill most of a flame graph
      keep(png.path, name + ".png");
    } else {
      MESSAGE("chromium is not installed: SVG rendering not checked");
    }
  }
  // Text that is not folded stacks is a usage error.
  TempFile bad;
  std::ofstream(bad.path) << "frame;frame many\n";
  harness::check_usage_error({"plot", bad.path, "-o", "-"});
  std::filesystem::remove_all(dir);
}
