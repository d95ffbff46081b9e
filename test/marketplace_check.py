#!/usr/bin/env python3
"""marketplace_check: check marketplace appliance YAMLs against the schema of design 05 §3.

    marketplace_check.py [--default NAME=VALUE]... FILE|DIR...

Each appliance: the common keys and their types, version <upstream X.Y.Z>-<revision>,
creation_time an epoch, file named <uuid>.yaml. By kind:
  OS disk app (no type): images [{name, url https, type OS, dev_prefix, driver qcow2,
    size > 0, checksum {md5, sha256}}] and an instantiable opennebula_template;
  VMTEMPLATE: disks naming OS disk apps, images [], opennebula_template;
  SERVICE_TEMPLATE: roles (role -> VMTEMPLATE app), images [], opennebula_template the OneFlow
    body (JSON), checked with oneflow_check.py's rules (--default as there).
A VM template: cpu, memory, context with token/network/report_ready YES; user_inputs keys
oneapp_* in lower case, each spec in the USER_INPUTS grammar and optional (O); inputs_order
the user_inputs keys upper-cased, in order; context references every input ($ONEAPP_X) and
every $ONEAPP_ reference has an input. Across the files given: names unique, references
resolve, the service's supernode template does not offer FL_SUPERLINK_ADDRESS.

Errors are printed as "FILE: message" on stderr; exit 0 when none, 1 otherwise, 2 on usage.
Needs PyYAML (Debian's python3-yaml).
"""
import json
import os
import re
import sys

import yaml

# oneflow_check.py sits beside this file; no __pycache__ left in the tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oneflow_check  # noqa: E402

VERSION = re.compile(r"^\d+\.\d+\.\d+-\d+(\.\d+){0,2}$")
UUID_FILE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.yaml$")
ONE_VERSIONS = re.compile(r"^\d+\.\d+(, \d+\.\d+)*$")
HEX_DIGITS = {"md5": 32, "sha256": 64}
EPOCH_2000 = 946684800
COMMON = (("name", str), ("version", str), ("publisher", str), ("description", str),
          ("short_description", str), ("tags", list), ("format", str), ("creation_time", int),
          ("os-id", str), ("os-release", str), ("os-arch", str), ("hypervisor", str),
          ("opennebula_version", str), ("logo", str), ("images", list))
IMAGE = (("name", str), ("url", str), ("type", str), ("dev_prefix", str), ("driver", str),
         ("size", int), ("checksum", dict))
KINDS = (None, "VMTEMPLATE", "SERVICE_TEMPLATE")


def kind_name(t):
    return {str: "a string", int: "an integer", list: "a list", dict: "a mapping"}[t]


class Checker:
    def __init__(self, defaults):
        self.defaults = defaults
        self.errors = []

    def err(self, msg):
        self.errors.append(msg)

    def keys(self, d, spec, where):
        ok = True
        for key, t in spec:
            if key not in d:
                self.err(f"{where}'{key}' is required")
                ok = False
            elif not isinstance(d[key], t) or isinstance(d[key], bool):
                self.err(f"{where}'{key}' must be {kind_name(t)}")
                ok = False
        return ok

    def appliance(self, d, filename):
        if not isinstance(d, dict):
            self.err("the appliance must be a YAML mapping")
            return
        if not UUID_FILE.match(filename):
            self.err(f"the file name '{filename}' is not <uuid>.yaml")
        self.keys(d, COMMON, "")
        v = d.get("version")
        if isinstance(v, str) and not VERSION.match(v):
            self.err(f"'version' '{v}' is not <upstream X.Y.Z>-<revision> (e.g. 1.25.0-0.1.0)")
        ct = d.get("creation_time")
        if isinstance(ct, int) and not isinstance(ct, bool) and ct < EPOCH_2000:
            self.err(f"'creation_time' {ct} is not an epoch (seconds since 1970, after 2000)")
        if d.get("format") not in (None, "qcow2"):
            self.err(f"'format' must be qcow2, not '{d.get('format')}'")
        ov = d.get("opennebula_version")
        if isinstance(ov, str) and not ONE_VERSIONS.match(ov):
            self.err(f"'opennebula_version' '{ov}' is not a comma list of X.Y versions")
        tags = d.get("tags")
        if isinstance(tags, list) and (not tags or not all(isinstance(t, str) for t in tags)):
            self.err("'tags' must be a non-empty list of strings")
        kind = d.get("type")
        if kind not in KINDS:
            self.err(f"'type' must be VMTEMPLATE or SERVICE_TEMPLATE (or absent for an OS disk), not '{kind}'")
            return
        if kind is None:
            self.os_disk(d)
        elif kind == "VMTEMPLATE":
            self.vmtemplate(d)
        else:
            self.service(d)

    def os_disk(self, d):
        images = d.get("images")
        if isinstance(images, list) and not images:
            self.err("an OS disk app needs at least one entry in 'images'")
        for i, img in enumerate(images if isinstance(images, list) else []):
            where = f"images[{i}]: "
            if not isinstance(img, dict):
                self.err(f"{where}must be a mapping")
                continue
            self.keys(img, IMAGE, where)
            url = img.get("url")
            if isinstance(url, str) and not re.match(r"^https://[^/\s]+/\S+\.qcow2$", url):
                self.err(f"{where}'url' '{url}' is not https://HOST/FILE.qcow2")
            if img.get("type") not in (None, "OS"):
                self.err(f"{where}'type' must be OS")
            if img.get("driver") not in (None, "qcow2"):
                self.err(f"{where}'driver' must be qcow2")
            size = img.get("size")
            if isinstance(size, int) and size <= 0:
                self.err(f"{where}'size' must be a positive number of bytes")
            ck = img.get("checksum")
            if isinstance(ck, dict):
                for algo, n in HEX_DIGITS.items():
                    if not isinstance(ck.get(algo), str) or not re.fullmatch(f"[0-9a-f]{{{n}}}", ck[algo]):
                        self.err(f"{where}'checksum' needs {algo} as {n} lower-case hex digits")
        self.vm_template(d.get("opennebula_template"))

    def vmtemplate(self, d):
        disks = d.get("disks")
        if not isinstance(disks, list) or not disks or not all(isinstance(x, str) for x in disks):
            self.err("a VMTEMPLATE app needs 'disks': a list of OS disk app names")
        if d.get("images") not in (None, []):
            self.err("a VMTEMPLATE app has 'images: []' (its disks are other apps)")
        self.vm_template(d.get("opennebula_template"))

    def vm_template(self, t):
        if not isinstance(t, dict):
            self.err("'opennebula_template' must be a mapping (the VM template, lower-case keys)")
            return
        for key in ("cpu", "memory"):
            if not re.fullmatch(r"\d+(\.\d+)?", str(t.get(key, ""))):
                self.err(f"opennebula_template: '{key}' must be a number")
        ctx = t.get("context")
        if not isinstance(ctx, dict):
            self.err("opennebula_template: 'context' must be a mapping")
            ctx = {}
        for key in ("token", "network", "report_ready"):
            if ctx.get(key) != "YES":
                self.err(f"opennebula_template: context needs {key}: 'YES'")
        inputs = t.get("user_inputs")
        if not isinstance(inputs, dict):
            self.err("opennebula_template: 'user_inputs' must be a mapping")
            inputs = {}
        order = t.get("inputs_order")
        want = ",".join(k.upper() for k in inputs)
        if order != want:
            self.err(f"opennebula_template: 'inputs_order' must be the user_inputs keys upper-cased, in order: '{want}'")
        for k, spec in inputs.items():
            if not re.fullmatch(r"oneapp_[a-z0-9_]+", str(k)):
                self.err(f"opennebula_template: user input '{k}' is not a lower-case oneapp_* name")
            if oneflow_check.bare(str(k).upper()) in oneflow_check.INFRASTRUCTURE:
                self.err(f"opennebula_template: user input '{k}' is an infrastructure variable")
            why = oneflow_check.input_spec_error(spec)
            if why:
                self.err(f"opennebula_template: user input {k} {why}")
            elif not spec.startswith("O|"):
                self.err(f"opennebula_template: user input {k} must be optional (O|...): flkit has a default for every variable")
            if ctx.get(k) != "$" + str(k).upper():
                self.err(f"opennebula_template: context must reference user input {k} as {k}: ${str(k).upper()}")
        for k, v in ctx.items():
            if isinstance(v, str) and re.fullmatch(r"\$ONEAPP_[A-Z0-9_]+", v) and v[1:].lower() not in inputs:
                self.err(f"opennebula_template: context {k} references {v}, which is no user input (it would be empty)")

    def service(self, d):
        roles = d.get("roles")
        if not isinstance(roles, dict) or not roles or not all(isinstance(v, str) for v in roles.values()):
            self.err("a SERVICE_TEMPLATE app needs 'roles': a mapping of role name to VMTEMPLATE app name")
            roles = {}
        if d.get("images") not in (None, []):
            self.err("a SERVICE_TEMPLATE app has 'images: []'")
        body = d.get("opennebula_template")
        if isinstance(body, str):
            try:
                body = json.loads(body)
            except ValueError as e:
                self.err(f"opennebula_template: the OneFlow body is not JSON: {e}")
                return
        if not isinstance(body, dict):
            self.err("opennebula_template: the OneFlow body must be a JSON object")
            return
        for e in oneflow_check.check_template(body, self.defaults):
            self.err(f"opennebula_template: {e}")
        names = sorted(r.get("name") for r in body.get("roles", []) if isinstance(r, dict))
        if roles and sorted(roles) != names:
            self.err(f"'roles' names {sorted(roles)}, the OneFlow body {names}")


def load_all(paths):
    files = []
    for p in paths:
        if os.path.isdir(p):
            files += sorted(os.path.join(p, f) for f in os.listdir(p) if f.endswith(".yaml") and f not in ("metadata.yaml", "tests.yaml"))
        else:
            files.append(p)
    return files


def cross(docs):
    """Errors across the appliances: unique names, references that resolve."""
    out, by_name = [], {}
    for path, d in docs:
        n = d.get("name")
        if not isinstance(n, str):
            continue
        if n in by_name:
            out.append((path, f"the name '{n}' is also the name of {by_name[n][0]}"))
        else:
            by_name[n] = (path, d)

    def app(name):
        return by_name.get(name, (None, {}))[1] if isinstance(name, str) else {}

    for path, d in docs:
        disks = d.get("disks")
        if d.get("type") == "VMTEMPLATE" and isinstance(disks, list):
            for disk in disks:
                if not app(disk) or app(disk).get("type") is not None:
                    out.append((path, f"disk '{disk}' is not an OS disk app of this marketplace"))
        if d.get("type") == "SERVICE_TEMPLATE" and isinstance(d.get("roles"), dict):
            for role, name in d["roles"].items():
                target = app(name)
                if not target or target.get("type") != "VMTEMPLATE":
                    out.append((path, f"role '{role}' names '{name}', not a VMTEMPLATE app of this marketplace"))
                    continue
                tpl = target.get("opennebula_template")
                ins = tpl.get("user_inputs") if isinstance(tpl, dict) else None
                if role == "supernode" and isinstance(ins, dict) and "oneapp_fl_superlink_address" in ins:
                    out.append((path, f"role 'supernode' uses '{name}', which offers oneapp_fl_superlink_address (the service's SuperNodes find the SuperLink through OneGate)"))
    return out


def main(argv):
    defaults, paths, args = {}, [], list(argv)
    while args:
        a = args.pop(0)
        if a == "--default" and args:
            k, sep, v = args.pop(0).partition("=")
            if not sep:
                print("marketplace_check: --default takes NAME=VALUE", file=sys.stderr)
                return 2
            defaults[k] = v
        elif a.startswith("-"):
            paths = []
            break
        else:
            paths.append(a)
    if not paths:
        print("usage: marketplace_check.py [--default NAME=VALUE]... FILE|DIR...", file=sys.stderr)
        return 2
    bad, docs = set(), []
    for path in load_all(paths):
        try:
            with open(path, encoding="utf-8") as fh:
                d = yaml.safe_load(fh)
        except (OSError, yaml.YAMLError) as e:
            print(f"{path}: {' '.join(str(e).split())}", file=sys.stderr)
            bad.add(path)
            continue
        c = Checker(defaults)
        c.appliance(d, os.path.basename(path))
        for e in c.errors:
            print(f"{path}: {e}", file=sys.stderr)
            bad.add(path)
        if isinstance(d, dict):
            docs.append((path, d))
    for path, e in cross(docs):
        print(f"{path}: {e}", file=sys.stderr)
        bad.add(path)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
