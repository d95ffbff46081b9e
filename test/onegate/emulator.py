#!/usr/bin/env python3
"""OneGate emulator for the flkit tests: OpenNebula's onegate-server as design 06 describes it.

Routes, JSON shapes, status codes and quirks follow ../shared/design/06-onegate-and-context-files.md:
string VM fields, integer service fields, "running": null, a stub vm_info unless extended, NIC
as an array, form or raw PUT bodies by Content-Type, escape_attr, restricted attributes (403),
the real token check (AES-256-CBC, 401), service membership for /vms/<id> (400/404), and
PUT /service/role/<role>. A world file (JSON) declares VMs, services and tokens; fault knobs
(latency, 5xx, malformed JSON, connection reset, hanging request) come from options, the world
file, or POST /_emulator/faults at run time. Python 3 standard library only; binds loopback
only. Usage and the control API: test/onegate/README.md.
"""

import argparse
import base64
import hashlib
import http.server
import json
import os
import random
import re
import socket
import struct
import sys
import threading
import time
import urllib.parse

# sha256("onegate-test"), the TOKEN_PASSWORD of 06 §7.1.
DEFAULT_PASSWORD = "099203454454a53f6cdd562350b463be16fd9d36114dcaf09820ffbbf78fb479"
MAX_BODY = 16 << 20

# ---------------------------------------------------------------------------------------------
# AES-256-CBC, enough for OneGate tokens (06 §1.2): key = first 32 ASCII characters of
# TOKEN_PASSWORD, IV = 16 zero bytes, PKCS#7 padding. Tables are computed, not typed in.


def _xtime(a):
    a <<= 1
    return (a ^ 0x11B) if a & 0x100 else a


def _tables():
    exp, log = [0] * 255, [0] * 256
    x = 1
    for i in range(255):
        exp[i] = x
        log[x] = i
        x ^= _xtime(x)  # multiply by the generator 3
    sbox = [0] * 256
    for a in range(256):
        inv = 0 if a == 0 else exp[(255 - log[a]) % 255]
        s = inv
        for shift in range(1, 5):
            s ^= ((inv << shift) | (inv >> (8 - shift))) & 0xFF
        sbox[a] = s ^ 0x63
    inv_sbox = [0] * 256
    for i, v in enumerate(sbox):
        inv_sbox[v] = i

    def mul(a, b):
        return 0 if a == 0 or b == 0 else exp[(log[a] + log[b]) % 255]

    mult = {k: [mul(a, k) for a in range(256)] for k in (2, 3, 9, 11, 13, 14)}
    return sbox, inv_sbox, mult


SBOX, INV_SBOX, MUL = _tables()


def _round_keys(key):
    w = [list(key[4 * i:4 * i + 4]) for i in range(8)]
    rcon = 1
    for i in range(8, 60):
        t = list(w[i - 1])
        if i % 8 == 0:
            t = [SBOX[b] for b in t[1:] + t[:1]]
            t[0] ^= rcon
            rcon = _xtime(rcon)
        elif i % 8 == 4:
            t = [SBOX[b] for b in t]
        w.append([a ^ b for a, b in zip(w[i - 8], t)])
    return [sum(w[4 * r:4 * r + 4], []) for r in range(15)]


def _encrypt_block(rk, block):
    s = [b ^ k for b, k in zip(block, rk[0])]
    for r in range(1, 15):
        s = [SBOX[b] for b in s]
        s = [s[(i % 4) + 4 * (((i // 4) + (i % 4)) % 4)] for i in range(16)]
        if r != 14:
            m2, m3 = MUL[2], MUL[3]
            t = []
            for c in range(4):
                a0, a1, a2, a3 = s[4 * c:4 * c + 4]
                t += [m2[a0] ^ m3[a1] ^ a2 ^ a3, a0 ^ m2[a1] ^ m3[a2] ^ a3,
                      a0 ^ a1 ^ m2[a2] ^ m3[a3], m3[a0] ^ a1 ^ a2 ^ m2[a3]]
            s = t
        s = [b ^ k for b, k in zip(s, rk[r])]
    return s


def _decrypt_block(rk, block):
    s = [b ^ k for b, k in zip(block, rk[14])]
    for r in range(13, -1, -1):
        s = [s[(i % 4) + 4 * (((i // 4) - (i % 4)) % 4)] for i in range(16)]
        s = [INV_SBOX[b] for b in s]
        s = [b ^ k for b, k in zip(s, rk[r])]
        if r != 0:
            m9, m11, m13, m14 = MUL[9], MUL[11], MUL[13], MUL[14]
            t = []
            for c in range(4):
                a0, a1, a2, a3 = s[4 * c:4 * c + 4]
                t += [m14[a0] ^ m11[a1] ^ m13[a2] ^ m9[a3], m9[a0] ^ m14[a1] ^ m11[a2] ^ m13[a3],
                      m13[a0] ^ m9[a1] ^ m14[a2] ^ m11[a3], m11[a0] ^ m13[a1] ^ m9[a2] ^ m14[a3]]
            s = t
    return s


def token_encrypt(password, plaintext):
    rk = _round_keys(password[:32].encode("ascii"))
    data = plaintext.encode()
    pad = 16 - len(data) % 16
    data += bytes([pad]) * pad
    prev, out = [0] * 16, []
    for i in range(0, len(data), 16):
        prev = _encrypt_block(rk, [a ^ b for a, b in zip(data[i:i + 16], prev)])
        out += prev
    return base64.b64encode(bytes(out)).decode()


def token_decrypt(password, token):
    """The plaintext of a token, or None when it does not decrypt cleanly."""
    try:
        raw = base64.b64decode(token, validate=True)
    except (ValueError, TypeError):
        return None
    if not raw or len(raw) % 16 or len(password) < 32:
        return None
    rk = _round_keys(password[:32].encode("ascii", "replace"))
    prev, out = [0] * 16, []
    for i in range(0, len(raw), 16):
        block = list(raw[i:i + 16])
        out += [a ^ b for a, b in zip(_decrypt_block(rk, block), prev)]
        prev = block
    pad = out[-1]
    if pad < 1 or pad > 16 or out[-pad:] != [pad] * pad:
        return None
    try:
        return bytes(out[:-pad]).decode()
    except UnicodeDecodeError:
        return None


# ---------------------------------------------------------------------------------------------
# Ruby behaviour the server relies on.


def ruby_to_i(s):
    """String#to_i: leading blanks, optional sign, digits (single underscores between), else 0."""
    if s is None:
        return 0
    if isinstance(s, int) and not isinstance(s, bool):
        return s
    if not isinstance(s, str):
        return 0
    m = re.match(r"\s*([+-]?\d+(?:_\d+)*)", s)
    return int(m.group(1).replace("_", "")) if m else 0


def escape_attr(attr):
    """onegate-server's escape_attr (06 §7.3), Ruby indexing included: attr[-1] wraps, attr[n] is nil."""
    esc = False
    out = []
    n = len(attr)
    for i, c in enumerate(attr):
        prev = attr[i - 1]  # Python's -1 wraps like Ruby's
        nxt = attr[i + 1] if i + 1 < n else None
        if c == "=" and esc:
            out.append(c)
        elif c == "=" and nxt != "[" and nxt != '"':
            out.append('="')
            esc = True
        elif c == "," and prev != '"':
            out.append('",')
        elif c == "[" and prev != "=" and prev != '"':
            out.append('"[')
        elif c == "]" and prev != "=" and prev != '"':
            out.append('"]')
            esc = False
        elif c == "\\" and prev != '"':
            out.append('"\\')
            esc = False
        elif c == "\n" and prev != '"':
            out.append('"\n')
            esc = False
        else:
            out.append(c)
    escaped = "".join(out).replace("\\n", "\n")
    if esc and not escaped.endswith("]") and not escaped.endswith('"'):
        escaped += '"'
    return escaped


class ParseError(Exception):
    pass


_NAME = re.compile(r"[A-Za-z0-9_]+")


def _attr_name(name):
    name = name.upper()
    if name[0].isdigit() or name.startswith("XML"):
        name = "ONE_" + name
    return name


def parse_template(text):
    """The part of OpenNebula's template parser that escaped OneGate data meets (06 §7.3).

    Returns [(NAME, value)], value a str or a dict (vector attribute). Raises ParseError where
    the real lexer rejects the input."""
    attrs = []
    for line in text.split("\n"):
        if not line.strip():
            continue
        m = re.match(r"\s*([^=\s]+)\s*=\s*(.*)\Z", line, re.S)
        if not m or not _NAME.fullmatch(m.group(1)):
            raise ParseError("syntax error, unexpected VARIABLE, expecting EQUAL")
        name, rest = _attr_name(m.group(1)), m.group(2).rstrip(" \t")
        if rest == '"':
            attrs.append((name, '"'))  # KEY= escapes to KEY=" and stores a lone quote
        elif rest.startswith('"'):
            if len(rest) < 2 or not rest.endswith('"') or '"' in rest[1:-1] or "\\" in rest:
                raise ParseError("syntax error, unexpected STRING")
            attrs.append((name, rest[1:-1]))
        elif rest.startswith("["):
            if not rest.endswith("]") or len(rest) < 3:
                raise ParseError("syntax error, unexpected VARIABLE")
            vec = {}
            for part in rest[1:-1].split(","):
                sm = re.match(r"\s*([A-Za-z0-9_]+)\s*=\s*(.*)\Z", part, re.S)
                if not sm:
                    raise ParseError("syntax error in vector attribute")
                val = sm.group(2)
                if val.startswith('"') and val.endswith('"') and len(val) >= 2:
                    val = val[1:-1]
                    if '"' in val:
                        raise ParseError("syntax error in vector attribute")
                vec[_attr_name(sm.group(1))] = val
            if vec:
                attrs.append((name, vec))
        elif rest and not re.search(r'[\s",\[\]\\]', rest):
            attrs.append((name, rest))
        else:
            raise ParseError("syntax error, unexpected $end")
    return attrs


def parse_form(raw):
    """Rack's form decoding: '&'-separated pairs, '+' is a space, %XX bytes; a key without '='
    gets None."""
    params = {}
    for pair in raw.split("&"):
        if not pair:
            continue
        k, eq, v = pair.partition("=")
        k = urllib.parse.unquote_plus(k, errors="surrogateescape")
        params[k] = urllib.parse.unquote_plus(v, errors="surrogateescape") if eq else None
    return params


def sort_template(t):
    """oned keeps template attributes in a sorted map."""
    out = {}
    for k in sorted(t):
        v = t[k]
        out[k] = sort_template(v) if isinstance(v, dict) else v
    return out


# ---------------------------------------------------------------------------------------------
# The world: VMs, services, virtual routers, settings.

PERMISSIONS = {
    "vm": ["show", "show_by_id", "update", "update_by_id", "action_by_id"],
    "service": ["show", "change_cardinality"],
    "vrouter": ["show"],
    "vnet": ["show_by_id"],
}
ACTIONS = set("deploy hold livemigrate migrate resume release stop suspend saveas snapshot_create "
              "snapshot_revert snapshot_delete terminate reboot poweroff chown chmod resize attachdisk "
              "detachdisk attachnic detachnic rename undeploy resched unresched recover delete "
              "shutdown".split())
NIC_KEYS = ["IP", "IP6_LINK", "IP6_SITE", "IP6_GLOBAL", "NETWORK", "MAC", "NAME", "PARENT", "EXTERNAL",
            "EXTERNAL_IP"]


class VM:
    def __init__(self, vmid, d, password):
        self.id = vmid
        self.name = d.get("name", "vm-%d" % vmid)
        self.stime = str(d.get("stime", 1700000000 + vmid))
        self.state = str(d.get("state", 3))
        self.lcm_state = str(d.get("lcm_state", 3 if str(d.get("state", 3)) == "3" else 0))
        self.uid, self.gid = str(d.get("uid", 0)), str(d.get("gid", 0))
        self.uname, self.gname = d.get("uname", "oneadmin"), d.get("gname", "oneadmin")
        self.user_template = dict(d.get("user_template", {}))
        self.nics = list(d.get("nics", []))
        self.nic_alias = list(d.get("nic_alias", []))
        self.template = dict(d.get("template", {}))
        self.context = d.get("context")
        self.static_token = d.get("token")
        self.password = d.get("token_password", password)

    def token(self):
        return self.static_token or token_encrypt(self.password, "%d:%s" % (self.id, self.stime))

    def token_ok(self, token):
        if self.static_token is not None:
            return token == self.static_token
        plain = token_decrypt(self.password, token)
        if plain is None or ":" not in plain:
            return False
        vid, _, stime = plain.partition(":")
        return vid == str(self.id) and stime == self.stime

    def view(self):
        """GET /vm and /vms/<id> (06 §2.2)."""
        def subset(nic):
            return {k: nic[k] for k in sorted(nic) if k in NIC_KEYS}
        ut = {k: v for k, v in self.user_template.items() if k != "SCHED_MESSAGE"}
        return {"VM": {"NAME": self.name, "ID": str(self.id), "STATE": self.state, "LCM_STATE": self.lcm_state,
                       "USER_TEMPLATE": sort_template(ut),
                       "TEMPLATE": {"NIC": [subset(n) for n in self.nics],
                                    "NIC_ALIAS": [subset(n) for n in self.nic_alias]}}}

    def stub(self):
        """The copy OneFlow stores in vm_info (06 §4)."""
        return {"VM": {"ID": str(self.id), "UID": self.uid, "GID": self.gid, "UNAME": self.uname,
                       "GNAME": self.gname, "NAME": self.name}}

    def full(self, endpoint):
        """oned's vm.to_hash: the whole VM, NIC an object when there is one (06 §4)."""
        tmpl = {}
        ctx = self.context if self.context is not None else {
            "NETWORK": "YES", "ONEGATE_ENDPOINT": endpoint, "TOKEN": "YES", "VMID": str(self.id)}
        tmpl["CONTEXT"] = sort_template(ctx)
        nics = [dict(n, NIC_ID=str(i)) for i, n in enumerate(self.nics)]
        if len(nics) == 1:
            tmpl["NIC"] = sort_template(nics[0])
        elif nics:
            tmpl["NIC"] = [sort_template(n) for n in nics]
        if self.nic_alias:
            tmpl["NIC_ALIAS"] = self.nic_alias[0] if len(self.nic_alias) == 1 else self.nic_alias
        tmpl.update(self.template)
        return {"VM": {"ID": str(self.id), "UID": self.uid, "GID": self.gid, "UNAME": self.uname,
                       "GNAME": self.gname, "NAME": self.name,
                       "PERMISSIONS": {"OWNER_U": "1", "OWNER_M": "1", "OWNER_A": "0", "GROUP_U": "0",
                                       "GROUP_M": "0", "GROUP_A": "0", "OTHER_U": "0", "OTHER_M": "0",
                                       "OTHER_A": "0"},
                       "LAST_POLL": "0", "STATE": self.state, "LCM_STATE": self.lcm_state,
                       "PREV_STATE": self.state, "PREV_LCM_STATE": self.lcm_state, "RESCHED": "0",
                       "STIME": self.stime, "ETIME": "0", "DEPLOY_ID": "one-%d" % self.id,
                       "MONITORING": {}, "TEMPLATE": sort_template(tmpl),
                       "USER_TEMPLATE": sort_template(self.user_template), "HISTORY_RECORDS": {}}}


class World:
    def __init__(self, data):
        self.password = data.get("token_password", DEFAULT_PASSWORD)
        self.server_version = str(data.get("server_version", "6.10"))
        self.restricted_attrs = data.get("restricted_attrs", ["SCHED_REQUIREMENTS", "SERVICE_ID", "ROLE_NAME"])
        self.restricted_actions = data.get("restricted_actions", ["reboot"])
        self.permissions = {r: {a: True for a in acts} for r, acts in PERMISSIONS.items()}
        for r, acts in data.get("permissions", {}).items():
            self.permissions.setdefault(r, {}).update(acts)
        self.oneflow_down = bool(data.get("oneflow_down", False))
        self.vms = {int(k): VM(int(k), v, self.password) for k, v in data.get("vms", {}).items()}
        self.services = {}
        for sid, s in data.get("services", {}).items():
            sid = int(sid)
            svc = {"name": s.get("name", "service-%d" % sid), "state": int(s.get("state", 2)), "roles": []}
            for r in s.get("roles", []):
                role = {"name": r["name"], "cardinality": r.get("cardinality"), "state": int(r.get("state", 2)),
                        "min_vms": r.get("min_vms"), "max_vms": r.get("max_vms"), "nodes": list(r.get("nodes", [])),
                        "null_vm_info": set(r.get("null_vm_info", []))}
                gen = r.get("generate")
                if gen:
                    first = int(gen.get("first_id", 1000))
                    for i in range(int(gen["count"])):
                        vmid = first + i
                        self.vms.setdefault(vmid, VM(vmid, {"name": "%s_%d_(service_%d)" % (r["name"], i, sid),
                                                            "stime": int(gen.get("stime", 1700000000)) + i,
                                                            "nics": [{"IP": "10.%d.%d.%d" % (
                                                                vmid >> 16 & 255, vmid >> 8 & 255, vmid & 255),
                                                                "NAME": "NIC0", "NETWORK": "private"}]},
                                                       self.password))
                        role["nodes"].append(vmid)
                if role["cardinality"] is None:
                    role["cardinality"] = len(role["nodes"])
                svc["roles"].append(role)
                for vmid in role["nodes"]:
                    vm = self.vms.get(vmid)
                    if vm is not None:
                        vm.user_template.setdefault("SERVICE_ID", str(sid))
                        vm.user_template.setdefault("ROLE_NAME", r["name"])
            self.services[sid] = svc
        self.vrouters = {int(k): v for k, v in data.get("vrouters", {}).items()}
        self.vnets = {int(k): v for k, v in data.get("vnets", {}).items()}
        self.scale_requests = []
        self.actions = []

    def service_json(self, sid, extended, endpoint):
        svc = self.services[sid]
        roles = []
        for r in svc["roles"]:
            nodes = []
            for vmid in r["nodes"]:
                vm = self.vms.get(vmid)
                info = None
                if vm is not None and vmid not in r["null_vm_info"]:
                    info = vm.full(endpoint) if extended else vm.stub()
                nodes.append({"deploy_id": vmid, "running": None, "vm_info": info})
            roles.append({"name": r["name"], "cardinality": r["cardinality"], "state": r["state"], "nodes": nodes})
        return {"SERVICE": {"name": svc["name"], "id": str(sid), "state": svc["state"], "roles": roles}}

    def error500(self, legacy):
        """500 bodies: oned's message up to 7.0, "Internal server error" since 7.2 (06 Q10)."""
        v = tuple(int(x) for x in re.findall(r"\d+", self.server_version)[:2])
        return legacy if v < (7, 2) else "Internal server error"


DEFAULT_FAULTS = {"latency_ms": 0, "error_rate": 0.0, "error_status": 503, "malformed": None, "malformed_rate": 1.0,
                  "reset_rate": 0.0, "hang": False, "hang_ms": 600000, "count": None, "paths": None, "seed": 1}
MALFORMED = ("truncate", "garbage", "wrong_type", "deep", "oversize", "empty", "nul")


class HTTPError(Exception):
    def __init__(self, status, body):
        super().__init__(body)
        self.status, self.body = status, body


class Abort(Exception):
    """The connection was reset or left hanging: write nothing more."""


def swap_types(v):
    """Valid JSON, wrong types everywhere (strings become numbers, arrays objects, ...)."""
    if isinstance(v, dict):
        return {k: swap_types(x) for k, x in v.items()}
    if isinstance(v, list):
        return {str(i): swap_types(x) for i, x in enumerate(v)}
    if isinstance(v, str):
        return 12345
    if v is None:
        return {}
    if isinstance(v, bool):
        return "true"
    if isinstance(v, (int, float)):
        return [str(v)]
    return v


def malform(mode, body):
    if mode == "truncate":
        return body[:max(1, len(body) // 2)]
    if mode == "garbage":
        return b"\x00\xff<html>502 Bad Gateway</html>\x80{]"
    if mode == "wrong_type":
        return json.dumps(swap_types(json.loads(body))).encode()
    if mode == "deep":
        return b"[" * 100000 + b"]" * 100000
    if mode == "oversize":
        return b'{"VM":{"NAME":"' + b"A" * (20 << 20) + b'"}}'
    if mode == "empty":
        return b""
    if mode == "nul":
        return b'{"VM":{"NAME":"a\\u0000b","ID":"12"}}'
    return body


# ---------------------------------------------------------------------------------------------
# HTTP.


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "onegate-emulator"

    def version_string(self):
        return self.server_version

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("emulator: " + (fmt % args) + "\n")

    # Every method goes through dispatch; HEAD answers like GET without a body.
    def do_GET(self):
        self.dispatch()

    do_PUT = do_POST = do_DELETE = do_HEAD = do_OPTIONS = do_PATCH = do_GET

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return data
                if len(data) + size > MAX_BODY:
                    raise HTTPError(413, "Request body too large")
                data += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            raise HTTPError(413, "Request body too large")
        return self.rfile.read(n) if n > 0 else b""

    def reply(self, status, body=b"", extra=None):
        if isinstance(body, str):
            body = body.encode("utf-8", "surrogateescape")
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=utf-8")
        if status not in (204, 304):
            self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if body and self.command != "HEAD" and status not in (204, 304):
            self.wfile.write(body)

    def reply_json(self, obj, status=200):
        body = json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogateescape")
        return status, body, True

    def dispatch(self):
        srv = self.server
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        try:
            body = self.read_body()
        except (HTTPError, ValueError) as e:
            self.close_connection = True
            self.reply(getattr(e, "status", 400), str(e))
            return
        if path.startswith("/_emulator/") or path == "/_emulator":
            self.control(path, body)
            return
        try:
            self.onegate(url, body)
        except Abort:
            self.close_connection = True

    # -- the OneGate side -------------------------------------------------------------------

    def onegate(self, url, body):
        srv = self.server
        path = url.path
        with srv.lock:
            fault = srv.take_fault(path)
            gen = srv.generation
        ctype = self.headers.get("Content-Type", "")
        entry = {"method": self.command, "path": path, "query": url.query, "content_type": ctype,
                 "body": body.decode("utf-8", "replace"), "vmid": self.headers.get("X-ONEGATE-VMID"),
                 "has_token": "X-ONEGATE-TOKEN" in self.headers, "token_ok": None, "fault": None,
                 "t": round(time.time(), 3)}
        if fault.get("latency_ms"):
            time.sleep(fault["latency_ms"] / 1000.0)
            if gen != srv.generation:
                raise Abort()  # the world was reset meanwhile: this request belongs to an old test
        if fault.get("hang"):
            entry["fault"] = "hang"
            srv.log_request_entry(entry)
            time.sleep(fault.get("hang_ms", 600000) / 1000.0)
            self.close_connection = True
            raise Abort()
        if fault.get("reset"):
            entry["fault"] = "reset"
            srv.log_request_entry(entry)
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            raise Abort()
        if fault.get("error"):
            entry["fault"] = "error"
            srv.log_request_entry(entry)
            status = int(fault.get("error_status", 503))
            self.reply(status, "Internal server error" if status == 500 else "Service Unavailable")
            return
        params = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        form = "application/x-www-form-urlencoded" in ctype.lower() or (self.command == "POST" and not ctype)
        if form:
            params.update(parse_form(body.decode("utf-8", "surrogateescape")))
        try:
            with srv.lock:
                status, out, is_json = self.route(path, params, body, entry)
        except HTTPError as e:
            status, out, is_json = e.status, e.body.encode("utf-8", "surrogateescape"), False
        srv.log_request_entry(dict(entry, status=status))
        if is_json and status == 200 and fault.get("malformed"):
            out = malform(fault["malformed"], out)
            entry["fault"] = "malformed"
        self.reply(status, out)

    def auth(self, params, entry):
        token = self.headers.get("X-ONEGATE-TOKEN")
        vmid = self.headers.get("X-ONEGATE-VMID")
        if vmid is None:
            vmid = params.get("id")  # deprecated fallback (06 §1.1)
        vm = self.server.world.vms.get(ruby_to_i(vmid)) if vmid is not None else None
        ok = bool(token) and vm is not None and vm.token_ok(token.strip())
        entry["token_ok"] = ok
        if not ok:
            raise HTTPError(401, "Not authorized")
        return vm

    def permit(self, resource, action):
        if not self.server.world.permissions.get(resource, {}).get(action, False):
            raise HTTPError(403, "Action (%s) on resource (%s) not supported" % (action, resource))

    def service_of(self, caller, target):
        w = self.server.world
        sid_s = caller.user_template.get("SERVICE_ID")
        if not isinstance(sid_s, str) or not re.fullmatch(r"\d+", sid_s):
            raise HTTPError(400, "Empty or invalid SERVICE_ID")
        sid = int(sid_s)
        svc = w.services.get(sid)
        if svc is None or w.oneflow_down:
            raise HTTPError(404, "Service %d not found" % sid)
        if not svc["roles"]:
            raise HTTPError(400, "Service %d is empty." % sid)
        if not any(target in r["nodes"] for r in svc["roles"]):
            raise HTTPError(400, "Service %d does not contain VM %d." % (sid, target))
        return sid, svc

    def other_vm(self, caller, raw_id):
        """The membership rules of GET/PUT /vms/:id and POST /vms/:id/action (06 §2.3)."""
        w = self.server.world
        target = ruby_to_i(urllib.parse.unquote(raw_id))
        if target == caller.id:
            return caller
        if "SERVICE_ID" in caller.user_template:
            self.service_of(caller, target)
        elif caller.template.get("VROUTER_ID") is not None:
            vrid = ruby_to_i(caller.template["VROUTER_ID"])
            vr = w.vrouters.get(vrid)
            if vr is None:
                raise HTTPError(404, "Virtual router %d not found" % vrid)
            ids = [ruby_to_i(x) for x in vr.get("vms", [])]
            if caller.id not in ids or target not in ids:
                raise HTTPError(400, "Virtual Router %d does not contain VM %d." % (vrid, target))
        else:
            raise HTTPError(400, "This VM does not belong to any Virtual Router or Service, so it cannot "
                                 "retrieve information from other VMs")
        vm = w.vms.get(target)
        if vm is None:
            raise HTTPError(404, "[one.vm.info] Error getting virtual machine [%d]." % target)
        return vm

    def update(self, vm, params, body):
        w = self.server.world
        data = params.get("data")
        if data is None:
            data = body.decode("utf-8", "surrogateescape")
        ttype = 1 if params.get("type") is None else ruby_to_i(params.get("type"))
        text = escape_attr(data)
        for line in text.split("\n"):
            name = line.split("=", 1)[0]
            if name.upper() in w.restricted_attrs:
                raise HTTPError(403, "Attribute (%s) cannot be %s" % (name, "modified" if ttype == 1 else "deleted"))
        if ttype == 1:
            try:
                attrs = parse_template(text)
            except ParseError as e:
                raise HTTPError(500, w.error500("[one.vm.update] Parse error: %s" % e))
            merged = {}
            for name, value in attrs:
                if name in merged:
                    prev = merged[name]
                    merged[name] = (prev if isinstance(prev, list) else [prev]) + [value]
                else:
                    merged[name] = value
            vm.user_template.update(merged)
        else:
            if text not in vm.user_template:
                raise HTTPError(500, w.error500("attribute not found"))
            del vm.user_template[text]
        return 200, b"", False

    def route(self, path, params, body, entry):
        w = self.server.world
        m = self.command
        get = m in ("GET", "HEAD")
        endpoint = "http://%s" % (self.headers.get("Host") or "127.0.0.1")
        if get and path == "/":
            vm = self.auth(params, entry)
            base = endpoint
            return self.reply_json({"vm_info": base + "/vm", "service_info": base + "/service"})
        if m == "PUT" and path == "/vm":
            self.permit("vm", "update")
            return self.update(self.auth(params, entry), params, body)
        if get and path == "/vm":
            self.permit("vm", "show")
            return self.reply_json(self.auth(params, entry).view())
        if get and path == "/service":
            self.permit("service", "show")
            vm = self.auth(params, entry)
            sid, _ = self.service_of(vm, vm.id)
            return self.reply_json(w.service_json(sid, "extended" in params, endpoint))
        if get and path == "/vrouter":
            self.permit("vrouter", "show")
            vm = self.auth(params, entry)
            return self.reply_json(self.vrouter(vm))
        mt = re.fullmatch(r"/vnet/([^/]+)", path)
        if get and mt:
            self.permit("vnet", "show_by_id")
            vm = self.auth(params, entry)
            return self.reply_json(self.vnet(vm, urllib.parse.unquote(mt.group(1))))
        mt = re.fullmatch(r"/vms/([^/]+)", path)
        if get and mt:
            self.permit("vm", "show_by_id")
            vm = self.auth(params, entry)
            return self.reply_json(self.other_vm(vm, mt.group(1)).view())
        mt = re.fullmatch(r"/vms/([^/]+)/action", path)
        if m == "POST" and mt:
            self.permit("vm", "action_by_id")
            vm = self.auth(params, entry)
            return self.action(self.other_vm(vm, mt.group(1)), body)
        mt = re.fullmatch(r"/service/role/([^/]+)", path)
        if m == "PUT" and mt:
            self.permit("service", "change_cardinality")
            vm = self.auth(params, entry)
            return self.scale(vm, urllib.parse.unquote(mt.group(1)), body)
        mt = re.fullmatch(r"/vms/([^/]+)", path)
        if m == "PUT" and mt:
            self.permit("vm", "update_by_id")
            vm = self.auth(params, entry)
            return self.update(self.other_vm(vm, mt.group(1)), params, body)
        raise HTTPError(400, "OneGate server doesn't support this feature")

    def action(self, vm, body):
        w = self.server.world
        try:
            doc = json.loads(body.decode("utf-8", "replace"))
        except ValueError as e:
            raise HTTPError(400, str(e))
        if not isinstance(doc, dict) or "action" not in doc:
            raise HTTPError(400, "Error parsing JSON: Wrong resource type")
        act = doc["action"]
        if not isinstance(act, dict):
            raise HTTPError(500, w.error500("undefined method `[]' for %r" % act))
        perform = str(act.get("perform"))
        if perform in w.restricted_actions:
            raise HTTPError(403, "Action (%s) is not allowed on this resource" % perform)
        if perform not in ACTIONS:
            raise HTTPError(500, w.error500("%s action not  available for this resource" % perform))
        w.actions.append({"vm": vm.id, "perform": perform, "params": act.get("params")})
        return 204, b"", False

    def scale(self, vm, role_name, body):
        w = self.server.world
        sid, svc = self.service_of(vm, vm.id)
        try:
            doc = json.loads(body.decode("utf-8", "replace"))
            card = doc.get("cardinality")
        except (ValueError, AttributeError) as e:
            raise HTTPError(500, w.error500(str(e)))
        w.scale_requests.append({"service": sid, "body": {"cardinality": card, "role_name": role_name,
                                                          "force": False}})
        fail = HTTPError(400, "Error performing action on service %d role %s" % (sid, role_name))
        role = next((r for r in svc["roles"] if r["name"] == role_name), None)
        if role is None or svc["state"] != 2:
            raise fail
        n = ruby_to_i(card)
        if (role["min_vms"] is not None and n < role["min_vms"]) or \
                (role["max_vms"] is not None and n > role["max_vms"]) or n < 0:
            raise fail
        role["cardinality"] = n
        return 200, b"", False

    def vrouter_of(self, vm):
        w = self.server.world
        vrid = vm.template.get("VROUTER_ID")
        if vrid is None or not re.fullmatch(r"\d+", str(vrid)):
            raise HTTPError(400, "Empty or invalid VROUTER_ID")
        vrid = int(vrid)
        vr = w.vrouters.get(vrid)
        if vr is None:
            raise HTTPError(404, "Virtual router %d not found" % vrid)
        if vm.id not in [ruby_to_i(x) for x in vr.get("vms", [])]:
            raise HTTPError(400, "Virtual Router %d does not contain VM %d." % (vrid, vm.id))
        return vrid, vr

    def vrouter(self, vm):
        vrid, vr = self.vrouter_of(vm)
        tmpl = dict(vr.get("template", {}))
        nics = tmpl.get("NIC", [])
        tmpl["NIC"] = nics if isinstance(nics, list) else [nics]
        return {"VROUTER": {"NAME": vr.get("name", "vrouter"), "ID": str(vrid),
                            "VMS": {"ID": [str(x) for x in vr.get("vms", [])]}, "TEMPLATE": tmpl}}

    def vnet(self, vm, raw):
        w = self.server.world
        if not re.fullmatch(r"\d+", raw):
            raise HTTPError(400, "Invalid id format (ID: %s). ID must be an integer." % raw)
        if vm.template.get("VROUTER_ID") is None:
            raise HTTPError(400, "Virtual networks information can only be retrieved from Virtual Routers.")
        vrid, vr = self.vrouter_of(vm)
        vnid = int(raw)
        vnet = w.vnets.get(vnid)
        if vnet is None:
            raise HTTPError(404, "Virtual network %d not found" % vnid)
        nets = [str(n.get("NETWORK_ID")) for n in self.vrouter(vm)["VROUTER"]["TEMPLATE"]["NIC"]]
        if str(vnid) not in nets:
            raise HTTPError(400, "Virtual Network %d cannot be retrieved from Virtual router %d." % (vnid, vrid))
        return {"VNET": vnet}

    # -- the control side (tests only) ------------------------------------------------------

    def control(self, path, body):
        srv = self.server
        try:
            doc = json.loads(body.decode()) if body.strip() else {}
        except ValueError as e:
            self.reply(400, json.dumps({"error": str(e)}))
            return
        m = self.command
        with srv.lock:
            w = srv.world
            status, out = 200, {"ok": True}
            mv = re.fullmatch(r"/_emulator/vm/(\d+)", path)
            ms = re.fullmatch(r"/_emulator/service/(\d+)", path)
            mn = re.fullmatch(r"/_emulator/nics/(\d+)", path)
            if path == "/_emulator/faults" and m == "POST":
                try:
                    srv.set_faults(doc)
                    out = srv.faults
                except ValueError as e:
                    status, out = 400, {"error": str(e)}
            elif path == "/_emulator/faults":
                out = srv.faults
            elif path == "/_emulator/requests" and m == "DELETE":
                srv.requests.clear()
            elif path == "/_emulator/requests":
                out = srv.requests
            elif path == "/_emulator/reset" and m == "POST":
                srv.reset()
            elif path == "/_emulator/config" and m == "POST":
                for k in ("server_version", "restricted_attrs", "restricted_actions", "oneflow_down"):
                    if k in doc:
                        setattr(w, k, doc[k])
                for r, acts in doc.get("permissions", {}).items():
                    w.permissions.setdefault(r, {}).update(acts)
            elif path == "/_emulator/state":
                out = {"vms": {str(k): v.user_template for k, v in w.vms.items() if not doc.get("ids") or k in doc["ids"]},
                       "scale_requests": w.scale_requests, "actions": w.actions,
                       "services": {str(k): {"state": s["state"], "roles": {r["name"]: {
                           "cardinality": r["cardinality"], "nodes": r["nodes"]} for r in s["roles"]}}
                           for k, s in w.services.items()}}
            elif path == "/_emulator/token" and m == "POST":
                vm = w.vms.get(int(doc.get("vmid", -1)))
                status, out = (200, {"token": vm.token()}) if vm else (404, {"error": "no such VM"})
            elif mv and m == "POST":
                vm = w.vms.get(int(mv.group(1)))
                if vm is None:
                    status, out = 404, {"error": "no such VM"}
                else:
                    for k, v in doc.items():
                        if v is None:
                            vm.user_template.pop(k, None)
                        else:
                            vm.user_template[k] = v
                    out = vm.user_template
            elif mn and m == "POST":
                vm = w.vms.get(int(mn.group(1)))
                if vm is None:
                    status, out = 404, {"error": "no such VM"}
                elif not isinstance(doc.get("nics"), list):
                    status, out = 400, {"error": "body must be {\"nics\": [...]}"}
                else:
                    vm.nics = list(doc["nics"])
                    out = {"nics": vm.nics}
            elif ms and m == "POST":
                svc = w.services.get(int(ms.group(1)))
                if svc is None:
                    status, out = 404, {"error": "no such service"}
                else:
                    if "state" in doc:
                        svc["state"] = int(doc["state"])
                    add = doc.get("add_node")
                    if add:
                        vmid = int(add["id"])
                        w.vms[vmid] = VM(vmid, add, w.password)
                        w.vms[vmid].user_template.setdefault("SERVICE_ID", ms.group(1))
                        w.vms[vmid].user_template.setdefault("ROLE_NAME", add["role"])
                        for r in svc["roles"]:
                            if r["name"] == add["role"]:
                                r["nodes"].append(vmid)
                    if "remove_node" in doc:
                        for r in svc["roles"]:
                            if int(doc["remove_node"]) in r["nodes"]:
                                r["nodes"].remove(int(doc["remove_node"]))
            else:
                status, out = 404, {"error": "unknown control route %s %s" % (m, path)}
            payload = json.dumps(out)
        self.reply(status, payload)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024

    def __init__(self, addr, world_path, faults, verbose):
        self.world_path = world_path
        self.initial_faults = faults
        self.verbose = verbose
        self.lock = threading.RLock()
        self.requests = []
        self.reset()
        super().__init__(addr, Handler)

    def load_world(self):
        with open(self.world_path, encoding="utf-8") as f:
            return json.load(f)

    def reset(self):
        self.generation = getattr(self, "generation", 0) + 1
        data = self.load_world()
        self.world = World(data)
        self.requests = []
        self.set_faults(dict(data.get("faults", {}), **self.initial_faults))

    def set_faults(self, doc):
        unknown = set(doc) - set(DEFAULT_FAULTS)
        if unknown:
            raise ValueError("unknown fault knob(s): %s" % ", ".join(sorted(unknown)))
        if doc.get("malformed") not in (None,) + MALFORMED:
            raise ValueError("malformed is one of %s" % ", ".join(MALFORMED))
        self.faults = dict(DEFAULT_FAULTS, **doc)
        self.rng = random.Random(self.faults.get("seed"))

    def take_fault(self, path):
        """Decide which faults hit this request (called with the lock held)."""
        f = self.faults
        if f.get("count") is not None and f["count"] <= 0:
            return {}
        if f.get("paths") and not any(re.search(p, path) for p in f["paths"]):
            return {}
        hit = {"latency_ms": f.get("latency_ms", 0)}
        if f.get("hang"):
            hit.update(hang=True, hang_ms=f.get("hang_ms", 600000))
        elif f.get("reset_rate") and self.rng.random() < f["reset_rate"]:
            hit["reset"] = True
        elif f.get("error_rate") and self.rng.random() < f["error_rate"]:
            hit.update(error=True, error_status=f.get("error_status", 503))
        elif f.get("malformed") and self.rng.random() < f.get("malformed_rate", 1.0):
            hit["malformed"] = f["malformed"]
        if f.get("count") is not None:
            f["count"] -= 1
        return hit

    def log_request_entry(self, entry):
        with self.lock:
            if len(self.requests) < 100000:
                self.requests.append(entry)

    def handle_error(self, request, client_address):
        if self.verbose:
            super().handle_error(request, client_address)


def main():
    ap = argparse.ArgumentParser(description="OneGate emulator for flkit tests (loopback only).")
    ap.add_argument("--world", help="world file (JSON)")
    ap.add_argument("--host", default="127.0.0.1", help="127.0.0.1 (default) or ::1")
    ap.add_argument("--port", type=int, default=0, help="0 picks a free port")
    ap.add_argument("--port-file", help="write the port here once listening")
    ap.add_argument("--latency-ms", type=int)
    ap.add_argument("--error-rate", type=float)
    ap.add_argument("--error-status", type=int)
    ap.add_argument("--seed", type=int)
    ap.add_argument("--malformed", choices=MALFORMED)
    ap.add_argument("--reset-rate", type=float)
    ap.add_argument("--hang", action="store_true")
    ap.add_argument("--print-token", metavar="VMID[,VMID...]", help="print the tokens of these VMs and exit")
    ap.add_argument("--make-token", metavar="ID:STIME", help="print the token for this plaintext and exit")
    ap.add_argument("--password", default=DEFAULT_PASSWORD, help="TOKEN_PASSWORD for --make-token")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()
    if a.make_token:
        print(token_encrypt(a.password, a.make_token))
        return 0
    if not a.world:
        ap.error("--world is required")
    if a.print_token is not None:
        with open(a.world, encoding="utf-8") as f:
            world = World(json.load(f))
        for vmid in a.print_token.split(","):
            vm = world.vms.get(ruby_to_i(vmid))
            if vm is None:
                print("emulator: no VM %s in %s" % (vmid, a.world), file=sys.stderr)
                return 1
            print(vm.token())
        return 0
    if a.host not in ("127.0.0.1", "::1", "localhost"):
        print("emulator: refusing to bind %s: loopback only" % a.host, file=sys.stderr)
        return 2
    faults = {k: v for k, v in (("latency_ms", a.latency_ms), ("error_rate", a.error_rate),
                                ("error_status", a.error_status), ("seed", a.seed), ("malformed", a.malformed),
                                ("reset_rate", a.reset_rate), ("hang", a.hang or None)) if v is not None}
    if a.host == "::1":
        Server.address_family = socket.AF_INET6
    srv = Server((a.host if a.host != "localhost" else "127.0.0.1", a.port), a.world, faults, a.verbose)
    if a.port_file:
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % srv.server_address[1])
        os.replace(tmp, a.port_file)
    try:
        srv.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
