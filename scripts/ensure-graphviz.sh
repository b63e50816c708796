#!/usr/bin/env bash
# Graphviz's `dot` renders graph images. Install Debian's package when we can (root + apt);
# otherwise everything still works except image rendering, which says how to get it.
if command -v dot >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Graphviz (dot) with apt-get ..."
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null) \
        && exit 0
fi
echo "Note: Graphviz's 'dot' program is not installed; graph images will not render."
echo "      Install it with 'sudo apt-get install graphviz' (Debian/Ubuntu) or 'brew install graphviz'."
exit 0
