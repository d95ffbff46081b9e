#!/usr/bin/env python3
"""The OneGate emulator checked against design 06 §7: token crypto (§7.1), the Ruby CLI's form
bodies (§7.2), escape_attr and its stored results (§7.3), the fixture world's 33 request
vectors (§7.4), plus the fault knobs and the control API. Prints TAP: each line starts with a
vector id (e.g. "w7.4-04") that test/onegate-emulator.bats looks up.

    python3 test/onegate/test_emulator.py [--only ID-PREFIX] [--list]
"""

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import emulator as em  # noqa: E402

WORLD = os.path.join(ROOT, "test", "fixtures", "onegate", "world-7.4.json")
BIG = os.path.join(ROOT, "test", "fixtures", "onegate", "world-big.json")
PASSWORD = em.DEFAULT_PASSWORD
TOKENS = {12: "McCWcjnbYN559FvF4X/TKQ==", 13: "HrahQzwO9y4IF1ub7wu0+A==", 20: "iroiNE2zRDK8Njjn7Ov76w=="}
CT = "application/json;charset=utf-8"
FORM = "application/x-www-form-urlencoded"

TESTS = []


def vector(vid, desc):
    def wrap(fn):
        TESTS.append((vid, desc, fn))
        return fn
    return wrap


class Emu:
    """An emulator in this process, on a free loopback port."""

    def __init__(self, world=WORLD):
        self.srv = em.Server(("127.0.0.1", 0), world, {}, False)
        self.port = self.srv.server_address[1]
        self.thread = threading.Thread(target=self.srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()

    def req(self, method, path, body=None, headers=None, vm=None, token=None, timeout=10, host=None):
        h = {}
        if vm is not None:
            h["X-ONEGATE-VMID"] = str(vm)
            h["X-ONEGATE-TOKEN"] = token if token is not None else TOKENS[vm]
        h.update(headers or {})
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            c.putrequest(method, path, skip_host=host is not None, skip_accept_encoding=True)
            if host is not None:
                c.putheader("Host", host)
            data = body.encode() if isinstance(body, str) else body
            for k, v in h.items():
                c.putheader(k, v)
            if data is not None:
                c.putheader("Content-Length", str(len(data)))
            c.endheaders(data)
            r = c.getresponse()
            return r.status, r.read(), r.getheader("Content-Type")
        finally:
            c.close()

    def ctl(self, method, path, doc=None):
        st, body, _ = self.req(method, "/_emulator/" + path, json.dumps(doc) if doc is not None else None,
                               {"Content-Type": "application/json"})
        return st, json.loads(body) if body else None

    def ut(self, vmid):
        return self.ctl("GET", "state")[1]["vms"][str(vmid)]


E = None


def eq(got, want, what="value"):
    if got != want:
        raise AssertionError("%s: got %r, want %r" % (what, got, want))


def check(st, body, ct, status, text=None):
    eq(st, status, "status")
    eq(ct, CT, "Content-Type")
    if text is not None:
        eq(body.decode(), text, "body")


# --- 7.1 token crypto -------------------------------------------------------------------------

for i, (plain, token) in enumerate([("12:1700000000", "McCWcjnbYN559FvF4X/TKQ=="),
                                    ("13:1700000100", "HrahQzwO9y4IF1ub7wu0+A=="),
                                    ("20:1700000200", "iroiNE2zRDK8Njjn7Ov76w=="),
                                    ("0:1712345678", "IaM4/GsWoZsLv+P2m0weDg=="),
                                    ("42:1699999999", "ys/O29iKczo/fZq++HsRPw=="),
                                    ("12:1700000001", "Etl9gTFKCJlg4Y1J7VEc5w==")], 1):
    def _t(plain=plain, token=token):
        eq(em.token_encrypt(PASSWORD, plain), token, "encrypt")
        eq(em.token_decrypt(PASSWORD, token), plain, "decrypt")
    vector("t7.1-%d" % i, "token %s <-> %s (AES-256-CBC, zero IV)" % (plain, token))(_t)


@vector("t7.1-7", "a token with bad padding or base64 decrypts to nothing")
def _():
    eq(em.token_decrypt(PASSWORD, "McCWcjnbYN559FvF4X/TKQ"), None)
    eq(em.token_decrypt(PASSWORD, "AAAAAAAAAAAAAAAAAAAAAA=="), None)
    eq(em.token_decrypt(PASSWORD, "not base64!"), None)


@vector("t7.1-8", "VM 13 and VM 20 authenticate with their real tokens")
def _():
    eq(E.req("GET", "/vm", vm=13)[0], 200)
    eq(E.req("GET", "/vm", vm=20)[0], 200)


# --- 7.2 the Ruby CLI's form bodies, as the server stores them --------------------------------

for i, (body, want) in enumerate([
        ("data=READY%3DYES&type=1", {"READY": "YES"}),
        ("data=KEY%3Dvalue+with+spaces&type=1", {"KEY": "value with spaces"}),
        ("data=A%3D1%0AB%3D2&type=1", {"A": "1", "B": "2"}),
        ("data=A%3D1%5CnB%3D2&type=1", {"A": "1", "B": "2"}),
        ("data=SSHKEY%3Dssh-rsa+AAAA%2B%2Fb%3D%3D+u%40h&type=1", {"SSHKEY": "ssh-rsa AAAA+/b== u@h"}),
        ("data=X%3D%7Etilde&type=1", {"X": "~tilde"}),
        ("data=Y%3Dv%20w~&type=1", {"Y": "v w~"})], 1):
    def _f(body=body, want=want):
        check(*E.req("PUT", "/vm", body, {"Content-Type": FORM}, vm=12), 200, "")
        ut = E.ut(12)
        for k, v in want.items():
            eq(ut.get(k), v, k)
    vector("f7.2-%d" % i, "PUT /vm form body %s stores %s" % (body, want))(_f)


@vector("f7.2-8", "--erase READY: data=READY&type=2 removes it")
def _():
    E.req("PUT", "/vm", "data=READY%3DYES&type=1", {"Content-Type": FORM}, vm=12)
    check(*E.req("PUT", "/vm", "data=READY&type=2", {"Content-Type": FORM}, vm=12), 200, "")
    eq("READY" in E.ut(12), False, "READY present")


@vector("f7.2-9", "service show --extended: a GET form body extended=true gives the full vm_info")
def _():
    st, body, _ = E.req("GET", "/service", "extended=true", {"Content-Type": FORM}, vm=12)
    eq(st, 200)
    eq("TEMPLATE" in json.loads(body)["SERVICE"]["roles"][0]["nodes"][0]["vm_info"]["VM"], True, "full vm_info")


# --- 7.3 escape_attr and what gets stored ------------------------------------------------------

ESCAPES = [
    ("READY=YES", 'READY="YES"', ("ok", {"READY": "YES"})),
    ("KEY=value with spaces", 'KEY="value with spaces"', ("ok", {"KEY": "value with spaces"})),
    ("A=1\nB=2", 'A="1"\nB="2"', ("ok", {"A": "1", "B": "2"})),
    ("A=1\\nB=2", 'A="1"\nB="2"', ("ok", {"A": "1", "B": "2"})),
    ("B64=aGVsbG8=", 'B64="aGVsbG8="', ("ok", {"B64": "aGVsbG8="})),
    ("SSH=ssh-rsa AAAA== user@host", 'SSH="ssh-rsa AAAA== user@host"', ("ok", {"SSH": "ssh-rsa AAAA== user@host"})),
    ("URL=http://x/?a=1&b=2", 'URL="http://x/?a=1&b=2"', ("ok", {"URL": "http://x/?a=1&b=2"})),
    ("APP_LOAD = 9.7", 'APP_LOAD =" 9.7"', ("ok", {"APP_LOAD": " 9.7"})),
    ("KEY=", 'KEY="', ("ok", {"KEY": '"'})),
    ('KEY=""', 'KEY=""', ("ok", {"KEY": ""})),
    ('KEY="already quoted"', 'KEY="already quoted"', ("ok", {"KEY": "already quoted"})),
    ("LIST=a,b", 'LIST="a",b"', ("500", None)),
    ("V=[A=1,B=2]", 'V=[A="1",B=2"]', ("ok", {"V": {"A": "1", "B": '2"'}})),
    ('MSG=say "hi"', 'MSG="say "hi"', ("500", None)),
    ("WIN=C:\\dir", 'WIN="C:"\\dir', ("500", None)),
    ("X=[]", 'X=["]', ("500", None)),
    ("APP_LOAD", "APP_LOAD", ("erase", None)),
    ("SERVICE_ID=9", 'SERVICE_ID="9"', ("403", "Attribute (SERVICE_ID) cannot be modified")),
    ("service_id=1", 'service_id="1"', ("403", "Attribute (service_id) cannot be modified")),
    (" SERVICE_ID=1", ' SERVICE_ID="1"', ("ok", None)),
]

for i, (inp, esc, (outcome, stored)) in enumerate(ESCAPES, 1):
    def _e(inp=inp, esc=esc):
        eq(em.escape_attr(inp), esc, "escape_attr(%r)" % inp)
    vector("e7.3-%02d" % i, "escape_attr(%r) = %r" % (inp, esc))(_e)

    def _s(inp=inp, outcome=outcome, stored=stored):
        if outcome == "erase":
            E.ctl("POST", "vm/12", {"APP_LOAD": "9.7"})
            check(*E.req("PUT", "/vm?type=2", inp, {"Content-Type": "text/plain"}, vm=12), 200, "")
            eq("APP_LOAD" in E.ut(12), False, "APP_LOAD present")
            return
        st, body, ct = E.req("PUT", "/vm", inp, {"Content-Type": "text/plain"}, vm=12)
        if outcome == "ok":
            check(st, body, ct, 200, "")
            ut = E.ut(12)
            for k, v in (stored or {}).items():
                eq(ut.get(k), v, k)
        elif outcome == "403":
            check(st, body, ct, 403, stored)
        else:
            eq(st, 500, "status")
            eq(body.decode().startswith("[one.vm.update] Parse error"), True, "legacy 500 body %r" % body)
    vector("s7.3-%02d" % i, "PUT /vm raw %r: %s" % (inp, outcome if stored is None else stored))(_s)


@vector("s7.3-21", "server_version 7.2: explicit 500 bodies become 'Internal server error' (Q10)")
def _():
    E.ctl("POST", "config", {"server_version": "7.2"})
    check(*E.req("PUT", "/vm", "LIST=a,b", {"Content-Type": "text/plain"}, vm=12), 500, "Internal server error")


@vector("s7.3-22", "a repeated name in one request is stored as a list; names are upper-cased, 1X gets ONE_")
def _():
    check(*E.req("PUT", "/vm", "data=R%3D1%0AR%3D2%0Alow%3Dx%0A1X%3Dy&type=1", {"Content-Type": FORM}, vm=12), 200)
    ut = E.ut(12)
    eq(ut.get("R"), ["1", "2"], "R")
    eq(ut.get("LOW"), "x", "LOW")
    eq(ut.get("ONE_1X"), "y", "ONE_1X")


# --- 7.4 the fixture world's request vectors ---------------------------------------------------

VM4 = ('{"VM":{"NAME":"web_0_(service_5)","ID":"12","STATE":"3","LCM_STATE":"3","USER_TEMPLATE":{"ROLE_NAME":"web",'
       '"SERVICE_ID":"5"},"TEMPLATE":{"NIC":[{"IP":"10.0.0.12","MAC":"02:00:0a:00:00:0c","NAME":"NIC0",'
       '"NETWORK":"private"}],"NIC_ALIAS":[]}}}')
SVC12 = ('{"SERVICE":{"name":"myapp","id":"5","state":2,"roles":[{"name":"web","cardinality":1,"state":2,"nodes":'
         '[{"deploy_id":12,"running":null,"vm_info":{"VM":{"ID":"12","UID":"0","GID":"0","UNAME":"oneadmin",'
         '"GNAME":"oneadmin","NAME":"web_0_(service_5)"}}}]},{"name":"db","cardinality":1,"state":2,"nodes":'
         '[{"deploy_id":13,"running":null,"vm_info":{"VM":{"ID":"13","UID":"0","GID":"0","UNAME":"oneadmin",'
         '"GNAME":"oneadmin","NAME":"db_0_(service_5)"}}}]}]}}')
NOTSUP = "OneGate server doesn't support this feature"
NOTMEMBER = ("This VM does not belong to any Virtual Router or Service, so it cannot retrieve information from "
             "other VMs")


def w(n, desc):
    return vector("w7.4-%s" % n, desc)


@w("01", "GET /vm without headers: 401 Not authorized")
def _():
    check(*E.req("GET", "/vm"), 401, "Not authorized")


@w("02", "GET /vm, VMID 12 with the wrong-STIME token: 401")
def _():
    check(*E.req("GET", "/vm", vm=12, token="Etl9gTFKCJlg4Y1J7VEc5w=="), 401, "Not authorized")


@w("03", "GET /vm, VMID 13 with VM 12's token: 401")
def _():
    check(*E.req("GET", "/vm", vm=13, token=TOKENS[12]), 401, "Not authorized")


@w("04", "GET /vm, H12: the view, byte for byte")
def _():
    check(*E.req("GET", "/vm", vm=12), 200, VM4)


@w("05", "PUT /vm form data=READY%3DYES&type=1: 200 empty, USER_TEMPLATE stays alphabetical")
def _():
    check(*E.req("PUT", "/vm", "data=READY%3DYES&type=1", {"Content-Type": FORM}, vm=12), 200, "")
    st, body, _ = E.req("GET", "/vm", vm=12)
    eq('"USER_TEMPLATE":{"READY":"YES","ROLE_NAME":"web","SERVICE_ID":"5"}' in body.decode(), True, "order")


@w("06", "PUT /vm form content type, raw body APP=1: APP=\"1\"")
def _():
    check(*E.req("PUT", "/vm", "APP=1", {"Content-Type": FORM}, vm=12), 200, "")
    eq(E.ut(12).get("APP"), "1")


@w("07", "PUT /vm?type=2 raw body APP: removed")
def _():
    E.ctl("POST", "vm/12", {"APP": "1"})
    check(*E.req("PUT", "/vm?type=2", "APP", {"Content-Type": FORM}, vm=12), 200, "")
    eq("APP" in E.ut(12), False)


@w("08", "erase an absent attribute: 500 attribute not found")
def _():
    check(*E.req("PUT", "/vm", "data=APP&type=2", {"Content-Type": FORM}, vm=12), 500, "attribute not found")


@w("09", "data=SERVICE_ID%3D9&type=1: 403 Attribute (SERVICE_ID) cannot be modified")
def _():
    check(*E.req("PUT", "/vm", "data=SERVICE_ID%3D9&type=1", {"Content-Type": FORM}, vm=12), 403,
          "Attribute (SERVICE_ID) cannot be modified")


@w("10", "data=ROLE_NAME&type=2: 403 Attribute (ROLE_NAME) cannot be deleted")
def _():
    check(*E.req("PUT", "/vm", "data=ROLE_NAME&type=2", {"Content-Type": FORM}, vm=12), 403,
          "Attribute (ROLE_NAME) cannot be deleted")


@w("11", "a form body sent as application/json is stored as DATA (Q2)")
def _():
    check(*E.req("PUT", "/vm", "data=READY%3DYES&type=1", {"Content-Type": "application/json"}, vm=12), 200, "")
    eq(E.ut(12).get("DATA"), "READY%3DYES&type=1")


@w("12", "GET /service, H12: the stub view, byte for byte")
def _():
    check(*E.req("GET", "/service", vm=12), 200, SVC12)


@w("13", "GET /service?extended=true: the full oned VM hash in vm_info")
def _():
    st, body, _ = E.req("GET", "/service?extended=true", vm=12)
    eq(st, 200)
    vm = json.loads(body)["SERVICE"]["roles"][0]["nodes"][0]["vm_info"]["VM"]
    eq("CONTEXT" in vm["TEMPLATE"] and "MONITORING" in vm and vm["STATE"] == "3", True, "full VM")
    eq(isinstance(vm["TEMPLATE"]["NIC"], dict), True, "one NIC is an object")


@w("13b", "extended=false still means extended (Q3)")
def _():
    st, body, _ = E.req("GET", "/service?extended=false", vm=12)
    eq("TEMPLATE" in json.loads(body)["SERVICE"]["roles"][0]["nodes"][0]["vm_info"]["VM"], True)


@w("14", "GET /service, H20: 400 Empty or invalid SERVICE_ID")
def _():
    check(*E.req("GET", "/service", vm=20), 400, "Empty or invalid SERVICE_ID")


@w("15", "GET /vms/13, H12: VM 13's view")
def _():
    st, body, ct = E.req("GET", "/vms/13", vm=12)
    check(st, body, ct, 200)
    eq('"STATE":"8","LCM_STATE":"0"' in body.decode(), True)


@w("16", "GET /vms/99, H12: 400 Service 5 does not contain VM 99.")
def _():
    check(*E.req("GET", "/vms/99", vm=12), 400, "Service 5 does not contain VM 99.")


@w("17", "GET /vms/13, H20: 400 not in a service or virtual router")
def _():
    check(*E.req("GET", "/vms/13", vm=20), 400, NOTMEMBER)


@w("18", "GET /vms/20, H20: its own view, empty USER_TEMPLATE and NIC arrays")
def _():
    check(*E.req("GET", "/vms/20", vm=20), 200,
          '{"VM":{"NAME":"lonely","ID":"20","STATE":"3","LCM_STATE":"3","USER_TEMPLATE":{},"TEMPLATE":{"NIC":[],'
          '"NIC_ALIAS":[]}}}')


@w("19", "PUT /vms/13, H12, data=ACTIVE%3DYES: VM 13 gets ACTIVE=YES")
def _():
    check(*E.req("PUT", "/vms/13", "data=ACTIVE%3DYES&type=1", {"Content-Type": FORM}, vm=12), 200, "")
    eq(E.ut(13).get("ACTIVE"), "YES")


@w("20", "PUT /service/role/web {\"cardinality\":\"2\"}: 200, forwarded to OneFlow scale")
def _():
    check(*E.req("PUT", "/service/role/web", '{"cardinality":"2"}', vm=12), 200, "")
    st = E.ctl("GET", "state")[1]
    eq(st["scale_requests"][-1], {"service": 5, "body": {"cardinality": "2", "role_name": "web", "force": False}})
    eq(st["services"]["5"]["roles"]["web"]["cardinality"], 2)


@w("21", "PUT /service/role/nope: 400 Error performing action on service 5 role nope")
def _():
    check(*E.req("PUT", "/service/role/nope", '{"cardinality":2}', vm=12), 400,
          "Error performing action on service 5 role nope")


@w("21b", "scaling while the service is COOLDOWN (10): 400")
def _():
    E.ctl("POST", "service/5", {"state": 10})
    check(*E.req("PUT", "/service/role/web", '{"cardinality":"2"}', vm=12), 400,
          "Error performing action on service 5 role web")


@w("22", "PUT /service/role/web, H20: 400 Empty or invalid SERVICE_ID")
def _():
    check(*E.req("PUT", "/service/role/web", '{"cardinality":"2"}', vm=20), 400, "Empty or invalid SERVICE_ID")


@w("23", "POST /vms/13/action hold: 204, no body")
def _():
    st, body, ct = E.req("POST", "/vms/13/action", '{"action":{"perform":"hold"}}', vm=12)
    check(st, body, ct, 204, "")


@w("24", "POST /vms/13/action reboot: 403 not allowed")
def _():
    check(*E.req("POST", "/vms/13/action", '{"action":{"perform":"reboot"}}', vm=12), 403,
          "Action (reboot) is not allowed on this resource")


@w("25", "POST /vms/13/action {\"foo\":1}: 400 Wrong resource type")
def _():
    check(*E.req("POST", "/vms/13/action", '{"foo":1}', vm=12), 400, "Error parsing JSON: Wrong resource type")


@w("26", "POST /vms/13/action with single-quoted pseudo-JSON: 400")
def _():
    eq(E.req("POST", "/vms/13/action", "{'action':{'perform':'resched'}}", vm=12)[0], 400)


@w("27", "POST /vms/13/action fly: 500 (two spaces in the text)")
def _():
    check(*E.req("POST", "/vms/13/action", '{"action":{"perform":"fly"}}', vm=12), 500,
          "fly action not  available for this resource")


@w("28", "GET /vrouter, H12: 400 Empty or invalid VROUTER_ID")
def _():
    check(*E.req("GET", "/vrouter", vm=12), 400, "Empty or invalid VROUTER_ID")


@w("29", "GET /vnet/abc: 400 Invalid id format")
def _():
    check(*E.req("GET", "/vnet/abc", vm=12), 400, "Invalid id format (ID: abc). ID must be an integer.")


@w("30", "GET /vnet/0 from a non-router VM: 400")
def _():
    check(*E.req("GET", "/vnet/0", vm=12), 400,
          "Virtual networks information can only be retrieved from Virtual Routers.")


@w("31", "unknown paths, wrong methods and trailing slashes: the catch-all 400")
def _():
    for m, p in (("GET", "/nope"), ("DELETE", "/vm"), ("POST", "/service/5/scale"), ("GET", "/vm/")):
        check(*E.req(m, p, vm=12), 400, NOTSUP)


@w("32", "GET / with Host gate:5030: the links")
def _():
    check(*E.req("GET", "/", vm=12, host="gate:5030"), 200,
          '{"vm_info":"http://gate:5030/vm","service_info":"http://gate:5030/service"}')


@w("33", "a disabled permission answers 403 before authentication")
def _():
    E.ctl("POST", "config", {"permissions": {"vm": {"update": False}}})
    check(*E.req("PUT", "/vm", "data=A%3D1&type=1", {"Content-Type": FORM}), 403,
          "Action (update) on resource (vm) not supported")


@w("34", "the VRouter fixture: GET /vrouter from VM 115")
def _():
    tok = em.token_encrypt(PASSWORD, "115:1700000300")
    check(*E.req("GET", "/vrouter", vm=115, token=tok), 200,
          '{"VROUTER":{"NAME":"vrouter","ID":"12","VMS":{"ID":["115"]},"TEMPLATE":{"NIC":[{"NETWORK":"service",'
          '"NETWORK_ID":"0","NIC_ID":"0"},{"NETWORK":"private","NETWORK_ID":"1","NIC_ID":"1"}],"TEMPLATE_ID":"74"}}}')
    eq(E.req("GET", "/vnet/0", vm=115, token=tok)[0], 200, "vnet 0 from the router")
    check(*E.req("GET", "/vnet/7", vm=115, token=tok), 404, "Virtual network 7 not found")


@w("35", "the deprecated ?id= fallback when X-ONEGATE-VMID is missing")
def _():
    eq(E.req("GET", "/vm?id=12", headers={"X-ONEGATE-TOKEN": TOKENS[12]})[0], 200)


@w("36", "HEAD /vm: 200 with the JSON content type and no body")
def _():
    st, body, ct = E.req("HEAD", "/vm", vm=12)
    check(st, body, ct, 200, "")


@w("37", "GET /vms/abc is VM 0 (Ruby to_i): not in the service")
def _():
    check(*E.req("GET", "/vms/abc", vm=12), 400, "Service 5 does not contain VM 0.")


# --- fault knobs -------------------------------------------------------------------------------


def knob(n, desc):
    return vector("k-%s" % n, desc)


@knob("latency", "latency_ms delays every answer")
def _():
    E.ctl("POST", "faults", {"latency_ms": 300})
    t = time.monotonic()
    eq(E.req("GET", "/vm", vm=12)[0], 200)
    eq(time.monotonic() - t >= 0.3, True, "delayed")


@knob("error", "error_rate 1 answers error_status (503 default, 500 as 'Internal server error')")
def _():
    E.ctl("POST", "faults", {"error_rate": 1})
    check(*E.req("GET", "/vm", vm=12), 503, "Service Unavailable")
    E.ctl("POST", "faults", {"error_rate": 1, "error_status": 500})
    check(*E.req("GET", "/vm", vm=12), 500, "Internal server error")


@knob("error-rate", "error_rate 0.5 with a seed: a repeatable mix")
def _():
    runs = []
    for _ in range(2):
        E.ctl("POST", "faults", {"error_rate": 0.5, "seed": 7})
        runs.append([E.req("GET", "/vm", vm=12)[0] for _ in range(20)])
    eq(runs[0], runs[1], "same seed, same sequence")
    eq(200 in runs[0] and 503 in runs[0], True, "a mix")


@knob("malformed", "malformed: truncate, garbage, wrong_type, deep, oversize, empty, nul")
def _():
    for mode, test in (("truncate", lambda b: not _is_json(b)), ("garbage", lambda b: not _is_json(b)),
                       ("wrong_type", lambda b: json.loads(b)["VM"]["ID"] == 12345),
                       ("deep", lambda b: b.startswith(b"[[[[") and len(b) == 200000),
                       ("oversize", lambda b: len(b) > (16 << 20)), ("empty", lambda b: b == b""),
                       ("nul", lambda b: b"\\u0000" in b)):
        E.ctl("POST", "faults", {"malformed": mode})
        st, body, _ = E.req("GET", "/vm", vm=12)
        eq(st, 200, mode)
        eq(test(body), True, mode)


def _is_json(b):
    try:
        json.loads(b)
        return True
    except ValueError:
        return False


@knob("malformed-put", "malformed leaves empty PUT answers alone")
def _():
    E.ctl("POST", "faults", {"malformed": "garbage"})
    check(*E.req("PUT", "/vm", "data=A%3D1&type=1", {"Content-Type": FORM}, vm=12), 200, "")


@knob("reset", "reset_rate 1 resets the connection without an answer")
def _():
    E.ctl("POST", "faults", {"reset_rate": 1})
    try:
        E.req("GET", "/vm", vm=12)
    except (ConnectionError, http.client.HTTPException):
        return
    raise AssertionError("an answer came")


@knob("hang", "hang keeps the request open without answering")
def _():
    # It hangs for 600 s: only the client's own timeout can end the request.
    E.ctl("POST", "faults", {"hang": True})
    try:
        E.req("GET", "/vm", vm=12, timeout=0.5)
    except (socket.timeout, TimeoutError):
        return
    raise AssertionError("an answer came")


@knob("count", "count limits the faults to the next N requests")
def _():
    E.ctl("POST", "faults", {"error_rate": 1, "count": 2})
    eq([E.req("GET", "/vm", vm=12)[0] for _ in range(3)], [503, 503, 200])


@knob("paths", "paths limits the faults to matching routes")
def _():
    E.ctl("POST", "faults", {"error_rate": 1, "paths": ["^/service$"]})
    eq(E.req("GET", "/vm", vm=12)[0], 200, "/vm")
    eq(E.req("GET", "/service", vm=12)[0], 503, "/service")


@knob("control-exempt", "faults never touch the control API")
def _():
    E.ctl("POST", "faults", {"reset_rate": 1})
    eq(E.ctl("GET", "faults")[0], 200)


@knob("unknown", "an unknown knob is refused with 400")
def _():
    eq(E.ctl("POST", "faults", {"nope": 1})[0], 400)


@knob("cli", "knobs from the command line; refuses a non-loopback bind")
def _():
    r = subprocess.run([sys.executable, os.path.join(HERE, "emulator.py"), "--world", WORLD, "--host", "0.0.0.0"],
                       capture_output=True, text=True, timeout=20)
    eq(r.returncode, 2, "exit status")
    eq("loopback only" in r.stderr, True, "message")


# --- control API -------------------------------------------------------------------------------


@vector("c-vm", "POST /_emulator/vm/13 sets attributes as VM 13 would; null erases")
def _():
    E.ctl("POST", "vm/13", {"FL_READY": "YES", "FL_ENDPOINT": "10.0.0.13:9092"})
    st, body, _ = E.req("GET", "/vms/13", vm=12)
    ut = json.loads(body)["VM"]["USER_TEMPLATE"]
    eq((ut.get("FL_READY"), ut.get("FL_ENDPOINT")), ("YES", "10.0.0.13:9092"))
    E.ctl("POST", "vm/13", {"FL_READY": None})
    eq("FL_READY" in E.ut(13), False)


@vector("c-node", "POST /_emulator/service/5 add_node / remove_node")
def _():
    E.ctl("POST", "service/5", {"add_node": {"id": 14, "role": "db", "name": "db_1_(service_5)"}})
    st, body, _ = E.req("GET", "/service", vm=12)
    eq([n["deploy_id"] for n in json.loads(body)["SERVICE"]["roles"][1]["nodes"]], [13, 14])
    eq(E.ut(14).get("SERVICE_ID"), "5")
    E.ctl("POST", "service/5", {"remove_node": 14})
    eq(E.req("GET", "/vms/14", vm=12)[0], 400)


@vector("c-log", "the request log records method, path, body, token validity and time, never the token")
def _():
    E.ctl("DELETE", "requests")
    E.req("PUT", "/vm", "data=A%3D1&type=1", {"Content-Type": FORM}, vm=12)
    log = E.ctl("GET", "requests")[1]
    eq(len(log), 1)
    eq((log[0]["method"], log[0]["path"], log[0]["body"], log[0]["token_ok"]),
       ("PUT", "/vm", "data=A%3D1&type=1", True))
    eq(TOKENS[12] in json.dumps(log), False, "token in the log")
    eq(abs(log[0]["t"] - time.time()) < 60, True, "the entry's time t")


@vector("c-nics", "POST /_emulator/nics/12 replaces the VM's NICs (a VM that came back with a new address)")
def _():
    eq(E.ctl("POST", "nics/12", {"nics": [{"IP": "10.0.0.99", "NAME": "NIC0"}]})[0], 200)
    st, body, _ = E.req("GET", "/vm", vm=12)
    eq([n["IP"] for n in json.loads(body)["VM"]["TEMPLATE"]["NIC"]], ["10.0.0.99"])
    eq(E.ctl("POST", "nics/12", {"nics": "10.0.0.99"})[0], 400)
    eq(E.ctl("POST", "nics/999", {"nics": []})[0], 404)


@vector("c-reset", "POST /_emulator/reset restores the world and clears faults")
def _():
    E.ctl("POST", "vm/12", {"X": "1"})
    E.ctl("POST", "faults", {"error_rate": 1})
    E.ctl("POST", "reset")
    eq("X" in E.ut(12), False)
    eq(E.req("GET", "/vm", vm=12)[0], 200)


@vector("c-big", "a generated world of 5000 SuperNodes: every node listed (the time reported)")
def _():
    big = Emu(BIG)
    try:
        tok = em.token_encrypt(PASSWORD, "1000:1700100000")
        t = time.monotonic()
        st, body, _ = big.req("GET", "/service", vm=1000, token=tok)
        dt = time.monotonic() - t
        eq(st, 200)
        nodes = json.loads(body)["SERVICE"]["roles"][1]["nodes"]
        eq((len(nodes), nodes[0]["deploy_id"], nodes[-1]["deploy_id"]), (5000, 1000, 5999))
        print("# served in %.2f s" % dt)
    finally:
        big.stop()


def main():
    global E
    args = sys.argv[1:]
    if "--list" in args:
        for vid, desc, _ in TESTS:
            print("%s %s" % (vid, desc))
        return 0
    only = args[args.index("--only") + 1] if "--only" in args else None
    tests = [t for t in TESTS if only is None or t[0].startswith(only)]
    print("1..%d" % len(tests))
    failed = 0
    E = Emu()
    try:
        for n, (vid, desc, fn) in enumerate(tests, 1):
            E.srv.reset()  # every vector starts from the fixture world, no faults
            try:
                fn()
                print("ok %d - %s %s" % (n, vid, desc))
            except Exception as e:  # noqa: BLE001 - any failure is a "not ok" line
                failed += 1
                print("not ok %d - %s %s" % (n, vid, desc))
                print("#   %s: %s" % (type(e).__name__, e))
            sys.stdout.flush()
    finally:
        E.stop()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
