#include "audit/export_html.h"

#include <gtest/gtest.h>

#include <regex>

#include "audit/player_assets.h"

namespace postern::audit {
namespace {

size_t count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + 1))
    ++n;
  return n;
}

TEST(HtmlEscape, MarkupAndControlsBecomeText) {
  EXPECT_EQ(html_escape("<img src=x onerror=\"alert('1')\">&amp;"),
            "&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;&amp;amp;");
  EXPECT_EQ(html_escape("tab\tnewline\n"), "tab\tnewline\n");
  EXPECT_EQ(html_escape(std::string("a\x1b[31mb\0c\x7f", 10)),
            "a\xef\xbf\xbd[31mb\xef\xbf\xbd"
            "c\xef\xbf\xbd");
  // Well-formed UTF-8 stays; malformed bytes (a lone continuation, an overlong '<', a surrogate,
  // a truncated sequence) each become U+FFFD and never a '<'.
  EXPECT_EQ(html_escape("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91"),
            "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91");
  EXPECT_EQ(html_escape("\x80"), "\xef\xbf\xbd");
  EXPECT_EQ(html_escape("\xc0\xbc"), "\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(html_escape("\xed\xa0\x80"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(html_escape("\xe2\x82"), "\xef\xbf\xbd\xef\xbf\xbd");
}

TEST(ScriptJsonString, NothingCanEndTheScriptElement) {
  std::string hostile = "</script><script>alert(1)</script><!-- <img src=x onerror=alert(2)> &";
  std::string literal = script_json_string(hostile);
  EXPECT_EQ(literal.find('<'), std::string::npos) << literal;
  EXPECT_EQ(literal.find('>'), std::string::npos) << literal;
  EXPECT_EQ(literal.find('&'), std::string::npos) << literal;
  EXPECT_TRUE(literal.starts_with("\"\\u003c/script\\u003e\\u003cscript\\u003e")) << literal;
  // It is still JSON for the same text.
  EXPECT_EQ(nlohmann::json::parse(literal).get<std::string>(), hostile);
}

TEST(ScriptJsonString, EscapesWhatJsonAndJavaScriptNeed) {
  EXPECT_EQ(script_json_string("a\"b\\c\r\n\t\x1b[0m\x7f"),
            "\"a\\\"b\\\\c\\r\\n\\t\\u001b[0m\\u007f\"");
  // U+2028/U+2029 end a line in older JavaScript: escaped.
  EXPECT_EQ(script_json_string("\xe2\x80\xa8\xe2\x80\xa9"), "\"\\u2028\\u2029\"");
  EXPECT_EQ(script_json_string("\xc3\xa9"), "\"\xc3\xa9\"");
  EXPECT_EQ(script_json_string("x\xff"), "\"x\xef\xbf\xbd\"");
  std::string all;
  for (int c = 1; c < 128; ++c) all += char(c);
  EXPECT_EQ(nlohmann::json::parse(script_json_string(all)).get<std::string>(), all);
}

ExportSession sample() {
  ExportSession s;
  s.summary.id = "00000000000000aa";
  s.summary.bastion_user = "alice<b>";
  s.summary.client = "127.0.0.1 port 50000";
  s.summary.targets = {"deploy@web1"};
  s.summary.channels = {"shell"};
  s.summary.start = "2030-01-01T00:00:00.000Z";
  s.summary.end = "2030-01-01T00:01:00.000Z";
  s.summary.exit_status = "3";
  s.exported_at = "2030-01-02T00:00:00.000Z";
  AuditJson file = {{"time", "2030-01-01T00:00:30.000Z"},
                    {"event", "file"},
                    {"channel", "sftp"},
                    {"detail", "write /tmp/<script>x.bin 5 bytes sha256=ab ok"},
                    {"bytes_up", 5},
                    {"bytes_down", 0}};
  s.file_events.push_back(file);
  ExportRecording r;
  r.path = "/var/log/postern/rec<1>.cast";
  r.channel = "shell";
  r.cast =
      "{\"version\": 2, \"width\": 90, \"height\": 20}\n"
      "[0.1, \"o\", \"</script><img src=x onerror=alert(1)>\\r\\n\"]\n";
  r.width = 90;
  r.height = 20;
  r.logged_sha256 = r.file_sha256 = std::string(64, 'a');
  s.recordings.push_back(r);
  return s;
}

const PlayerAssets kFakePlayer{"var AsciinemaPlayer = {create: function () {}};",
                               ".ap-player { color: red; }", "9.9.9\n"};

TEST(ExportHtmlPage, OneSelfContainedPage) {
  std::string page = export_html_page(sample(), kFakePlayer);
  EXPECT_EQ(page.rfind("<!DOCTYPE html>\n", 0), 0u);
  EXPECT_NE(page.find("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                      "script-src 'unsafe-inline' 'wasm-unsafe-eval'; style-src 'unsafe-inline'; "
                      "img-src data:\">"),
            std::string::npos);
  // The CSP comes before anything it governs.
  EXPECT_LT(page.find("Content-Security-Policy"), page.find("<style>"));
  EXPECT_EQ(count(page, "<style>\n.ap-player { color: red; }\n</style>"), 1u);
  EXPECT_EQ(count(page, "<script>\nvar AsciinemaPlayer = {create: function () {}};\n</script>"),
            1u);
  EXPECT_LT(page.find("var AsciinemaPlayer"), page.find("AsciinemaPlayer.create({data"));
  // Two script elements, and only their own end tags: the recording's "</script>" is not one.
  EXPECT_EQ(count(page, "<script>"), 2u);
  EXPECT_EQ(count(page, "</script>"), 2u);
  EXPECT_EQ(count(page, "<img"), 0u);
  EXPECT_NE(page.find("\"cast\":\"{\\\"version\\\": 2, \\\"width\\\": 90"), std::string::npos);
  EXPECT_NE(page.find("\\u003c/script\\u003e\\u003cimg src=x onerror=alert(1)\\u003e"),
            std::string::npos);
  EXPECT_NE(page.find("\"cols\":90,\"rows\":20"), std::string::npos);
  EXPECT_NE(page.find("<div class=\"player\" id=\"player-0\"></div>"), std::string::npos);
  EXPECT_EQ(page.find("http://"), std::string::npos);
  EXPECT_EQ(page.find("https://"), std::string::npos);
  EXPECT_NE(page.find("asciinema-player 9.9.9 (Apache License 2.0)"), std::string::npos);
  EXPECT_TRUE(page.ends_with("</script>\n</body>\n</html>\n"));
}

TEST(ExportHtmlPage, MetadataAndFileEventsBesideThePlayer) {
  std::string page = export_html_page(sample(), kFakePlayer);
  EXPECT_NE(page.find("<title>postern session 00000000000000aa</title>"), std::string::npos);
  EXPECT_NE(page.find("<dd id=\"meta-bastion-user\">alice&lt;b&gt;</dd>"), std::string::npos);
  EXPECT_NE(page.find("<dd id=\"meta-client\">127.0.0.1 port 50000</dd>"), std::string::npos);
  EXPECT_NE(page.find("<dd id=\"meta-target\">deploy@web1</dd>"), std::string::npos);
  EXPECT_NE(page.find("<dd id=\"meta-start\">2030-01-01T00:00:00.000Z</dd>"), std::string::npos);
  EXPECT_NE(page.find("<dd id=\"meta-end\">2030-01-01T00:01:00.000Z</dd>"), std::string::npos);
  EXPECT_NE(page.find("<dd id=\"meta-exit-status\">3</dd>"), std::string::npos);
  EXPECT_NE(page.find("<dd id=\"path-0\">/var/log/postern/rec&lt;1&gt;.cast</dd>"),
            std::string::npos);
  EXPECT_NE(page.find("<dd id=\"logged-sha256-0\">" + std::string(64, 'a') + "</dd>"),
            std::string::npos);
  EXPECT_NE(page.find("class=\"check ok\""), std::string::npos);
  EXPECT_NE(page.find("<td class=\"detail\">write /tmp/&lt;script&gt;x.bin 5 bytes sha256=ab "
                      "ok</td><td class=\"n\">5</td><td class=\"n\">0</td>"),
            std::string::npos);
  // The session and file events sit in the aside, after the recordings.
  EXPECT_LT(page.find("id=\"player-0\""), page.find("<aside>"));
  EXPECT_LT(page.find("<aside>"), page.find("id=\"metadata\""));
  EXPECT_LT(page.find("id=\"metadata\""), page.find("id=\"file-events\""));
}

TEST(ExportHtmlPage, ChangedOrUncheckedRecordingsAreSaidSo) {
  ExportSession s = sample();
  s.recordings[0].file_sha256 = std::string(64, 'b');
  EXPECT_EQ(check_recording(s.recordings[0]), RecordingCheck::kDiffers);
  std::string page = export_html_page(s, kFakePlayer);
  EXPECT_NE(page.find("class=\"check bad\""), std::string::npos);
  EXPECT_NE(page.find("does NOT match"), std::string::npos);
  EXPECT_EQ(page.find("class=\"check ok\""), std::string::npos);
  s.recordings[0].logged_sha256.clear();
  EXPECT_EQ(check_recording(s.recordings[0]), RecordingCheck::kNotLogged);
  page = export_html_page(s, kFakePlayer);
  EXPECT_NE(page.find("class=\"check unknown\""), std::string::npos);
  EXPECT_NE(page.find("<dd id=\"logged-sha256-0\">&#8212;</dd>"), std::string::npos);
}

TEST(ExportHtmlPage, WithoutRecordingsOrFileEvents) {
  ExportSession s = sample();
  s.recordings.clear();
  s.file_events.clear();
  s.summary.exit_status.clear();
  std::string page = export_html_page(s, kFakePlayer);
  EXPECT_NE(page.find("This session has no recording."), std::string::npos);
  EXPECT_NE(page.find("No file events."), std::string::npos);
  EXPECT_NE(page.find("<dd id=\"meta-exit-status\">&#8212;</dd>"), std::string::npos);
  EXPECT_EQ(page.find("<script>"), std::string::npos);  // no player to run
}

TEST(PlayerAssets, TheVendoredPlayerIsCompiledIn) {
  std::string js(asciinema_player_js()), css(asciinema_player_css());
  EXPECT_GT(js.size(), 100000u);
  EXPECT_NE(js.find("AsciinemaPlayer"), std::string::npos);
  EXPECT_NE(css.find(".ap-player"), std::string::npos);
  EXPECT_TRUE(std::regex_match(std::string(asciinema_player_version()),
                               std::regex("3\\.[0-9]+\\.[0-9]+\n")));
  // Inlined raw: neither may end its element (scripts/embed_html_assets.py checks at build time).
  for (const std::string* s : {&js, &css})
    for (const char* end : {"</script", "</SCRIPT", "</style", "<!--"})
      EXPECT_EQ(s->find(end), std::string::npos) << end;
}

}  // namespace
}  // namespace postern::audit
