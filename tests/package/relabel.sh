#!/bin/sh
# relabel.sh IN.deb OUT.deb VERSION: the same package under another version
# (and, for batchcalld, with a comment added to its conffile), so that an
# upgrade to IN.deb can be tried where no earlier build is at hand: the
# lifecycle test installs OUT.deb first, then IN.deb, the build under test,
# whose conffile then differs from the one the operator edited. Needs
# dpkg-deb; no root.
set -eu
in=$1 out=$2 version=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dpkg-deb -R "$in" "$tmp/p"
sed -i "s/^Version: .*/Version: $version/" "$tmp/p/DEBIAN/control"
conf=$tmp/p/etc/batchcalld/batchcalld.conf
if [ -f "$conf" ]; then
	printf '# (the conffile of %s, an earlier build)\n' "$version" >>"$conf"
fi
dpkg-deb --root-owner-group -Zxz -b "$tmp/p" "$out" >/dev/null
