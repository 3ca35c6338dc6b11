#!/bin/sh
# Fetches Debian's glibc VERSION (libc6, libc6-dbg, libc6-dev; for 2.31 also bullseye's
# linux-libc-dev) into DIR/root without installing anything: apt runs on a private sources list
# and private state under DIR/apt (the machine's own archive, suites bullseye and trixie, its
# keyring), downloads the packages and dpkg-deb unpacks them.  DIR/root then serves as a sysroot
# and its loader runs programs against that glibc (mk/versions.mk shows how).
#
# usage: fetch_glibc.sh VERSION DIR      e.g. fetch_glibc.sh 2.31-13+deb11u11 build/glibc/2.31
set -eu

version=$1
dir=$2
case $version in
	2.31-*) suite=bullseye ;;
	2.41-*) suite=trixie ;;
	*) echo "fetch_glibc: no Debian suite known for glibc $version" >&2; exit 2 ;;
esac

mkdir -p "$dir/apt/lists/partial" "$dir/apt/cache/archives/partial" "$dir/debs"
apt_dir=$(cd "$dir/apt" && pwd)
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
printf 'deb [signed-by=%s] http://deb.debian.org/debian %s main\n' "$keyring" "$suite" \
	>"$apt_dir/sources.list"
set -- -o Dir::Etc::sourcelist="$apt_dir/sources.list" -o Dir::Etc::sourceparts=/dev/null \
	-o Dir::State::Lists="$apt_dir/lists" -o Dir::Cache="$apt_dir/cache" \
	-o APT::Architecture=amd64 -o APT::Sandbox::User=root -q

if [ ! -e "$apt_dir/lists/.updated" ]; then
	apt-get "$@" update >/dev/null
	touch "$apt_dir/lists/.updated"
fi
packages="libc6=$version libc6-dbg=$version libc6-dev=$version"
[ "$suite" = bullseye ] && packages="$packages linux-libc-dev/bullseye"
rm -f "$dir"/debs/*.deb
(cd "$dir/debs" && apt-get "$@" download $packages >/dev/null)

rm -rf "$dir/root"
mkdir -p "$dir/root"
for package in "$dir"/debs/*.deb; do
	dpkg-deb -x "$package" "$dir/root"
done
# 2.31's /lib64 link is absolute; a sysroot needs it to point inside the root.
if [ -e "$dir/root/lib/x86_64-linux-gnu/ld-2.31.so" ]; then
	ln -sf ../lib/x86_64-linux-gnu/ld-2.31.so "$dir/root/lib64/ld-linux-x86-64.so.2"
fi
echo "$version" >"$dir/version"
