// The vendored asciinema-player (third_party/asciinema-player/), compiled into postern-audit by
// scripts/embed_html_assets.py so that `export --html` reads no file of it at run time.
#pragma once

#include <string_view>

namespace postern::audit {

std::string_view asciinema_player_js();       // dist/bundle/asciinema-player.min.js
std::string_view asciinema_player_css();      // dist/bundle/asciinema-player.css
std::string_view asciinema_player_version();  // third_party/asciinema-player/VERSION, with '\n'

}  // namespace postern::audit
