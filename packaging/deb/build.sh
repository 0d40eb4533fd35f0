#!/usr/bin/env bash
# make deb: build/pkg/ragkernel_<version>_<arch>.deb and ragkernel-dev_...
# by hand, as a minimal Debian package is built without debhelper:
#   1. `make install DESTDIR=stage PREFIX=/usr SYSCONFDIR=/etc
#      LOCALSTATEDIR=/var` in a build dir of its own ($BUILD/pkg/build: the
#      paths are compiled in, and Debian's hardening flags are added), so
#      the file list is the Makefile's;
#   2. split: the SDK (headers, ragkernel.pc, ragkernel-plugin-check and its
#      man page) goes to ragkernel-dev, the rest to ragkernel; the state dir
#      is left to postinst (it belongs to the ragkernel user);
#   3. add the systemd unit, copyright, changelog.Debian.gz, maintainer
#      scripts, the conffile list; strip, gzip the man pages;
#   4. Depends from dpkg-shlibdeps, the control file from dpkg-gencontrol,
#      md5sums, then dpkg-deb with root ownership (no root needed).
# The Debian version is the top entry of packaging/deb/changelog; its
# upstream part must be the Makefile's VERSION.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=packaging/deb
BUILD=${BUILD:-build} VERSION=${VERSION:?} MAKE=${MAKE:-make}
die() { echo "make deb: $*" >&2; exit 1; }
[ "${SAN:-0}" = 0 ] || die "a sanitizer build (SAN=$SAN) is not packaged; run make deb without SAN"
for t in dpkg-deb dpkg-shlibdeps dpkg-gencontrol dpkg-parsechangelog strip gzip; do
    command -v "$t" >/dev/null || die "needs $t (apt-get install dpkg-dev binutils)"
done

debver=$(dpkg-parsechangelog -l "$here/changelog" -S Version)
[ "${debver%-*}" = "$VERSION" ] ||
    die "$here/changelog:1: version $debver is not of VERSION $VERSION (add an entry: dch -v $VERSION-1)"
arch=$(dpkg --print-architecture)
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(dpkg-parsechangelog -l "$here/changelog" -S Timestamp)}

P=$BUILD/pkg
B=$P/build S=$P/stage W=$P/work
rm -rf "$S" "$W"
mkdir -p "$B" "$S" "$W/debian"

# 1. the staged install, hardened as Debian's own packages are built
# (relro is the toolchain's default; bindnow resolves every symbol at start)
flags="$(dpkg-buildflags --get CPPFLAGS) $(dpkg-buildflags --get CFLAGS)"
ldflags="$(dpkg-buildflags --get LDFLAGS) -Wl,-z,now"
"$MAKE" -s --no-print-directory BUILD="$B" PREFIX=/usr SYSCONFDIR=/etc LOCALSTATEDIR=/var \
    SAN=0 EXTRA_CFLAGS="$flags" LDFLAGS="$ldflags" DESTDIR="$PWD/$S" install >"$P/install.log" 2>&1 ||
    { tail -20 "$P/install.log" >&2; die "make install into $S failed (log: $P/install.log)"; }

# 2. split
R=$W/debian/ragkernel D=$W/debian/ragkernel-dev
cp -a "$S" "$R"
rm -rf "$R/var"
for f in usr/include usr/lib/pkgconfig/ragkernel.pc usr/bin/ragkernel-plugin-check \
         usr/share/man/man1/ragkernel-plugin-check.1; do
    [ -e "$R/$f" ] || die "make install did not install /$f"
    mkdir -p "$D/$(dirname "$f")"
    mv "$R/$f" "$D/$f"
done
rmdir "$R/usr/lib/pkgconfig"
# ragkernel.pc names no library (plugins link nothing of ours): it is the
# same on every architecture, where pkg-config looks for such files
mkdir -p "$D/usr/share"
mv "$D/usr/lib/pkgconfig" "$D/usr/share/pkgconfig"
rmdir "$D/usr/lib"

# 3. what only the package has
install -D -m 644 "$here/ragkernel.service" "$R/lib/systemd/system/ragkernel.service"
for pkg in ragkernel ragkernel-dev; do
    doc=$W/debian/$pkg/usr/share/doc/$pkg
    install -d "$doc"
    install -m 644 "$here/copyright" "$doc/copyright"
    gzip -9n <"$here/changelog" >"$doc/changelog.Debian.gz"
    install -D -m 644 "$here/$pkg.lintian-overrides" \
        "$W/debian/$pkg/usr/share/lintian/overrides/$pkg"
    find "$W/debian/$pkg/usr/share/man" -type f -name '*.[0-9]' -exec gzip -9nf {} + 2>/dev/null || true
done
find "$R/usr/bin" "$D/usr/bin" -type f -exec strip --remove-section=.comment \
    --remove-section=.note {} +
find "$R/usr/lib/ragkernel" -name '*.so' -exec strip --remove-section=.comment \
    --remove-section=.note --strip-unneeded {} +
install -d "$R/DEBIAN"
install -m 755 "$here/postinst" "$here/prerm" "$here/postrm" "$R/DEBIAN/"
echo /etc/ragkernel/ragkernel.yaml >"$R/DEBIAN/conffiles"

# 4. control files and the archives
cp "$here/control" "$W/debian/control"
cp "$here/changelog" "$W/debian/changelog"
(cd "$W" &&
 dpkg-shlibdeps -Tdebian/ragkernel.substvars debian/ragkernel/usr/bin/ragkernel \
     debian/ragkernel/usr/lib/ragkernel/plugins/*.so &&
 dpkg-shlibdeps -Tdebian/ragkernel-dev.substvars debian/ragkernel-dev/usr/bin/ragkernel-plugin-check &&
 for pkg in ragkernel ragkernel-dev; do
     install -d -m 755 "debian/$pkg/DEBIAN"
     dpkg-gencontrol -p"$pkg" -P"debian/$pkg" -T"debian/$pkg.substvars"
 done) >"$P/control.log" 2>&1 || { cat "$P/control.log" >&2; die "control files (above)"; }
for pkg in ragkernel ragkernel-dev; do
    root=$W/debian/$pkg
    find "$root" -type d -exec chmod 755 {} +
    find "$root" -type f ! -path "$root/DEBIAN/*" -exec chmod go-w {} +
    (cd "$root" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | LC_ALL=C sort -z |
        xargs -0 md5sum) >"$root/DEBIAN/md5sums"
    chmod 644 "$root/DEBIAN/md5sums"
    find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
    out=$P/${pkg}_${debver}_$arch.deb
    dpkg-deb --root-owner-group -Zxz --build "$root" "$out" >/dev/null
    echo "make deb: $out"
done
