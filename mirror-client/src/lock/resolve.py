# Resolve package specs with dnf's own solver (libsolv through python3-dnf),
# in an empty install root with a private cache, for one architecture.
# Input: one JSON argument. Output: one JSON document written to args["out"].
# A repository whose id ends in another architecture (el9-aarch64 while
# resolving x86_64) is left out, so one set of repo files serves every arch.
import json
import sys

def main():
    args = json.loads(sys.argv[1])
    out = {"packages": [], "sources": [], "errors": []}
    try:
        import dnf
        import dnf.exceptions
        import hawkey
    except ImportError as e:
        out["errors"].append({"kind": "no_dnf", "msg": str(e)})
        return out
    arch = args["arch"]
    if arch not in dnf.rpm._BASEARCH_MAP:
        out["errors"].append({"kind": "arch", "arch": arch,
                              "msg": "known: " + " ".join(sorted(dnf.rpm._BASEARCH_MAP))})
        return out
    base = dnf.Base()
    conf = base.conf
    conf.installroot = args["root"]
    conf.cachedir = args["cache"]
    conf.persistdir = args["cache"] + "/persist"
    conf.logdir = args["cache"]
    conf.reposdir = [args["reposdir"]]
    conf.config_file_path = "/dev/null"
    conf.ignorearch = True
    conf.arch = arch
    conf.releasever = args["releasever"]
    conf.install_weak_deps = args["weak"]
    conf.gpgcheck = False
    conf.assumeyes = True
    conf.plugins = False
    try:
        base.read_all_repos()
        mine = dnf.rpm.basearch(arch)
        others = [a for a in dnf.rpm._BASEARCH_MAP
                  if a != "noarch" and dnf.rpm.basearch(a) != mine]
        for r in list(base.repos.iter_enabled()):
            r.skip_if_unavailable = False
            if any(r.id.endswith(sep + a) for a in others for sep in "-_."):
                r.disable()
        base.fill_sack(load_system_repo=False, load_available_repos=True)
    except dnf.exceptions.Error as e:
        out["errors"].append({"kind": "repo", "msg": str(e)})
        return out
    for spec in args["packages"]:
        try:
            base.install(spec, strict=True)
        except dnf.exceptions.MarkingError as e:
            out["errors"].append({"kind": "unknown", "package": spec, "msg": str(e)})
        except dnf.exceptions.Error as e:
            out["errors"].append({"kind": "request", "package": spec, "msg": str(e)})
    if out["errors"]:
        return out
    try:
        base.resolve()
    except dnf.exceptions.Error as e:
        out["errors"].append({"kind": "conflict", "msg": str(e)})
        return out
    def entry(p):
        kind, digest = p.chksum if p.chksum else (None, None)
        return {
            "name": p.name, "epoch": p.epoch, "version": p.version,
            "release": p.release, "arch": p.arch, "repoid": p.repoid,
            "url": p.remote_location(), "size": p.downloadsize,
            "checksum_type": hawkey.chksum_name(kind) if kind is not None else None,
            "checksum": digest.hex() if digest is not None else None,
            "sourcerpm": p.sourcerpm or "",
        }
    chosen = list(base.transaction.install_set)
    out["packages"] = [entry(p) for p in chosen]
    if args["sources"]:
        avail = base.sack.query().available().filter(arch=["src", "nosrc"])
        seen = set()
        for p in chosen:
            srpm = p.sourcerpm
            if not srpm or srpm in seen:
                continue
            seen.add(srpm)
            stem = srpm[:-len(".src.rpm")] if srpm.endswith(".src.rpm") else srpm
            n, v, r = stem.rsplit("-", 2)
            q = avail.filter(name=n, version=v, release=r)
            found = list(q)
            if not found:
                out["errors"].append({"kind": "no_source", "package": srpm, "msg": "no enabled repository holds it"})
                continue
            out["sources"].append(entry(found[0]))
    return out

if __name__ == "__main__":
    answer = main()
    with open(json.loads(sys.argv[1])["out"], "w") as f:
        json.dump(answer, f)
