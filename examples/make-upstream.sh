#!/usr/bin/env bash
# Rebuilds examples/upstream/: a tiny but real yum repository (rpmbuild RPMs,
# createrepo_c metadata with an updateinfo record). Its output is committed, so
# running the example needs neither rpmbuild nor createrepo_c; this script only
# documents how it was made. Needs: apt-get install rpm createrepo-c
set -euo pipefail
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1763683200}
cd "$(dirname "$0")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/example.spec" <<'SPEC'
%global debug_package %{nil}
%global __os_install_post %{nil}
%global _build_id_links none
Name: example-bundle
Version: 1
Release: 1
Summary: example bundle
License: MIT
BuildArch: noarch
%description
Example packages for mirror-mgr.

%package -n hello-mirror
Summary: Says hello from a frozen snapshot
Version: 1.0
Release: 1
%description -n hello-mirror
Installs /usr/share/hello-mirror/VERSION.
%files -n hello-mirror
/usr/share/hello-mirror/VERSION

%package -n mirror-demo-tools
Summary: Demo tools
Version: 2.1
Release: 3
Requires: mirror-demo-data
%description -n mirror-demo-tools
Depends on mirror-demo-data.
%files -n mirror-demo-tools
/usr/share/mirror-demo-tools/VERSION

%package -n mirror-demo-data
Summary: Demo data
Version: 0.3
Release: 1
%description -n mirror-demo-data
Data for mirror-demo-tools.
%files -n mirror-demo-data
/usr/share/mirror-demo-data/VERSION

%install
for p in hello-mirror:1.0-1 mirror-demo-tools:2.1-3 mirror-demo-data:0.3-1; do
  mkdir -p %{buildroot}/usr/share/${p%%:*}
  echo ${p#*:} > %{buildroot}/usr/share/${p%%:*}/VERSION
done
SPEC
rpmbuild --quiet --define "_topdir $work/top" --define "_buildhost example.invalid" \
    --define "use_source_date_epoch_as_buildtime 1" --define "clamp_mtime_to_source_date_epoch 1" \
    -bb "$work/example.spec"
rm -rf upstream && mkdir -p upstream/Packages
cp "$work"/top/RPMS/noarch/*.rpm upstream/Packages/
cat >"$work/updateinfo.xml" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<updates>
  <update from="example@example.invalid" status="stable" type="bugfix" version="1">
    <id>EXAMPLE-2026-0001</id>
    <title>mirror-demo-tools 2.1-3</title>
    <issued date="2026-11-01 00:00:00"/>
    <summary>Bug fix release</summary>
    <description>Fixes the demo.</description>
    <pkglist><collection short="example"><name>example</name>
      <package name="mirror-demo-tools" version="2.1" release="3" epoch="0" arch="noarch" src="mirror-demo-tools-2.1-3.src.rpm">
        <filename>mirror-demo-tools-2.1-3.noarch.rpm</filename>
      </package>
    </collection></pkglist>
  </update>
</updates>
XML
createrepo_c --quiet --no-database --revision 1 upstream
modifyrepo_c --mdtype=updateinfo "$work/updateinfo.xml" upstream/repodata >/dev/null
echo "built $(ls upstream/Packages | wc -l) packages into examples/upstream" >&2
