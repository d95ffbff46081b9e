#!/usr/bin/env python3
"""oneflow_check: check OneFlow service templates the way OneFlow does, then flkit's own rules.

    oneflow_check.py [--default NAME=VALUE]... [--registry ROLE=FILE]... [--kind KIND] FILE...

OneFlow's rules (OpenNebula 7 field names; the messages of OpenNebula 7's
src/flow/lib/models/service_template.rb, validate_values and validate_vmvalues, where OneFlow
has one, its spacing and typos kept): the schema (types, enums, required keys), role
names ^\\w+$ and unique, min_vms <= cardinality <= max_vms, policies need both bounds, policy
type/adjust/expression, min_adjust_step >= 1, expressions that OneFlow's grammar parses,
scheduled policies with start_time xor recurrence, parents that exist and no cycle.

flkit's rules (the anti-patterns of design 02 §4.6 and 04 §5.5): OpenNebula 7 names only
(OneFlow converts vm_template & co. only when every role uses them); roles superlink and
supernode (the discovery contract); superlink 1/1/1, no parents, no policies; supernode a
child of superlink; deployment straight and ready_status_gate true; TOKEN, NETWORK,
REPORT_READY and READY_SCRIPT_PATH in each role's template_contents CONTEXT; every input at
exactly one level; no infrastructure variable and no FL_SUPERLINK_ADDRESS in inputs (nor the
address in a CONTEXT); input specs in the USER_INPUTS grammar; policy expressions that name
only attributes flkit publishes (fl-metrics(1), ELASTICITY); supernode min_vms at or above
the strategy's minimum number of clients. The strategy values are the template's own
(user_inputs_values, else the input's default), else --default NAME=VALUE (the registry's
defaults: `fl-context -E get NAME`).

--kind names what the files after it are (design 04 §2.1-2.2); the default is service:
  service        one site: the rules above.
  coordinator    zone A of a multi-site federation: the one role superlink (no supernode role:
                 SuperNodes of zone A go in a training site of their own), FL_TLS_ENABLED
                 offered with the default YES.
  training-site  a zone with SuperNodes only: the one role supernode, no parents anywhere
                 (the SuperLink is in another zone's service), FL_SUPERLINK_ADDRESS and
                 FL_SSL_CA_CERTFILE offered as mandatory inputs (no OneGate across zones),
                 FL_TLS_ENABLED with the default YES, FL_PARTITION_OFFSET and
                 FL_NUM_PARTITIONS offered (each site its own partition range).
--registry ROLE=FILE (the JSON of `fl-context user-inputs --role ROLE --oneapp --format
json`): every input of role ROLE, and every service-level input of a template with that
role, is a variable the role reads, with the registry's type, label and options (a template
may change only M/O and the default).

Every error is printed as "FILE: message" on stderr; exit 0 when none, 1 otherwise, 2 on
usage. Python standard library only (marketplace_check.py imports it).
"""
import datetime
import json
import re
import sys

ROLE_NAME = re.compile(r"\w+", re.ASCII)  # Ruby's \w: ASCII only
POLICY_TYPES = ("CHANGE", "CARDINALITY", "PERCENTAGE_CHANGE")
SHUTDOWN_ACTIONS = ("terminate", "terminate-hard", "shutdown", "shutdown-hard")
PRE7_NAMES = {"vm_template": "template_id", "vm_template_contents": "template_contents",
              "custom_attrs": "user_inputs", "custom_attrs_values": "user_inputs_values"}

# The attributes fl-metrics publish puts in each SuperNode's USER_TEMPLATE for elasticity.
PUBLISHED = ("FL_CLIENT_STATUS", "FL_TRAINING_ACTIVE", "FL_ROUND_NUMBER")
# Context attributes the VM template or OneFlow owns; a deployer must not be asked for them.
INFRASTRUCTURE = {
    "TOKEN", "NETWORK", "REPORT_READY", "READY_SCRIPT", "READY_SCRIPT_PATH", "SSH_PUBLIC_KEY",
    "USERNAME", "USERNAME_PASSWORD_RESET", "PASSWORD", "SET_HOSTNAME", "HOSTNAME", "DNS_HOSTNAME",
    "START_SCRIPT", "START_SCRIPT_BASE64", "ONEGATE_ENDPOINT", "VMID", "TOKENTXT", "NIC", "DISK",
    "TARGET", "FILES_DS", "INIT_SCRIPTS", "GATEWAY", "DNS", "SERVICE_ID", "ROLE_NAME",
}
REQUIRED_CONTEXT = {"TOKEN": "YES", "NETWORK": "YES", "REPORT_READY": "YES"}
KINDS = ("service", "coordinator", "training-site")
# The one role each kind holds; a service holds both.
KIND_ROLES = {"service": ["superlink", "supernode"], "coordinator": ["superlink"],
              "training-site": ["supernode"]}

# USER_INPUTS grammar (design 05 §3.3): M|O, a type, a label, then options and default.
INPUT_TYPES = ("text", "text64", "password", "number", "number-float", "range", "range-float",
               "list", "list-multiple", "boolean", "fixed", "network")
USER_INPUT = re.compile(
    r"^(?P<mo>[MO])\|(?P<type>[a-z0-9-]+)\|(?P<label>[^|\n]*)"
    r"(?:\|(?P<options>[^|\n]*)\|(?P<default>[^|\n]*))?$")


def input_spec_error(spec):
    """None when spec is a valid USER_INPUTS string, else why not."""
    if not isinstance(spec, str):
        return "is not a string"
    m = USER_INPUT.match(spec)
    if not m:
        return "is not M|O|type|label[|options|default]"
    kind, options, default = m.group("type"), m.group("options"), m.group("default")
    if kind not in INPUT_TYPES:
        return f"has the unknown type '{kind}'"
    if kind == "text64" and options is not None:
        return "is text64 and has options or a default (text64 lines end after the label)"
    if kind == "network":
        return None if spec == f"{m.group('mo')}|network|{m.group('label')}| |id:" or \
            options is not None else "is a network input without '| |id:'"
    if kind in ("range", "range-float"):
        num = r"-?\d+" if kind == "range" else r"-?\d+(\.\d+)?"
        if not options or not re.fullmatch(f"{num}\\.\\.{num}", options):
            return f"is a {kind} without min..max options"
    if kind in ("list", "list-multiple"):
        if not options:
            return f"is a {kind} without options"
        if default and kind == "list" and default not in options.split(","):
            return f"has the default '{default}', not one of its options"
    if kind == "boolean" and default not in (None, "", "YES", "NO"):
        return f"is a boolean with the default '{default}' (YES or NO)"
    if kind == "number" and default and not re.fullmatch(r"-?\d+", default):
        return f"is a number with the default '{default}'"
    if kind == "number-float" and default and not re.fullmatch(r"-?\d+(\.\d+)?", default):
        return f"is a number-float with the default '{default}'"
    return None


def input_default(spec):
    m = USER_INPUT.match(spec) if isinstance(spec, str) else None
    return m.group("default") if m and m.group("default") else None


def bare(name):
    name = str(name)
    return name[len("ONEAPP_"):] if name.startswith("ONEAPP_") else name


# OneFlow's elasticity expression grammar (src/flow/lib/grammar.treetop): comparisons
# (== = != <> >= > <= <) of an attribute or a number, combined with & && | ||, grouped with
# parentheses, negated with !; blanks are spaces only. Attributes are [a-zA-Z][0-9a-zA-Z_]*,
# optionally quoted, looked up upper-cased; numbers -?[0-9]+(.[0-9]+)?.
TOKEN = re.compile(r" *(?:(?P<num>-?\d+(?:\.\d+)?)"
                   r"|(?P<var>\"[A-Za-z][0-9A-Za-z_]*\"|'[A-Za-z][0-9A-Za-z_]*'|[A-Za-z][0-9A-Za-z_]*)"
                   r"|(?P<op>&&|\|\||>=|<=|==|!=|<>|=|>|<|&|\||!|\(|\)))")
COMPARISONS = ("==", "=", "!=", "<>", ">=", ">", "<=", "<")
CONNECTIVES = ("&&", "&", "||", "|")


def parse_expression(text):
    """The attribute names of an expression, upper-cased; raises ValueError with the reason."""
    toks, pos = [], 0
    while pos < len(text) and text[pos:].strip(" "):
        m = TOKEN.match(text, pos)
        if not m:
            raise ValueError(f"unexpected '{text[pos:].strip(' ')[:10]}' at offset {pos}")
        toks.append((m.lastgroup, m.group(m.lastgroup)))
        pos = m.end()
    names, i = [], 0

    def operand():
        nonlocal i
        if i < len(toks) and toks[i][0] in ("num", "var"):
            if toks[i][0] == "var":
                names.append(toks[i][1].strip("'\"").upper())
            i += 1
            return
        raise ValueError("expected an attribute or a number" + (f", got '{toks[i][1]}'" if i < len(toks) else " at the end"))

    def term():
        nonlocal i
        if i < len(toks) and toks[i] == ("op", "!"):
            i += 1
            return disjunction()
        if i < len(toks) and toks[i] == ("op", "("):
            i += 1
            disjunction()
            if i >= len(toks) or toks[i] != ("op", ")"):
                raise ValueError("missing ')'")
            i += 1
            return
        operand()
        if i < len(toks) and toks[i][0] == "op" and toks[i][1] in COMPARISONS:
            i += 1
            operand()
        else:
            raise ValueError("expected a comparison (" + " ".join(COMPARISONS) + ")")

    def disjunction():
        nonlocal i
        term()
        while i < len(toks) and toks[i][0] == "op" and toks[i][1] in CONNECTIVES:
            i += 1
            term()

    if not toks:
        raise ValueError("empty")
    disjunction()
    if i != len(toks):
        raise ValueError(f"unexpected '{toks[i][1]}'")
    return names


CRON_FIELD = re.compile(r"^[\w*/,\-]+$")


def valid_time(text):
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d"):
        try:
            datetime.datetime.strptime(text, fmt)
            return True
        except ValueError:
            pass
    return False


class Checker:
    def __init__(self, defaults, kind="service", registry=None):
        self.defaults = defaults
        self.kind = kind
        self.registry = registry or {}  # role -> {bare name: USER_INPUTS line}
        self.errors = []
        self.names = {}  # id(policy) -> the attributes its expression names

    def err(self, msg):
        self.errors.append(msg)

    def typed(self, obj, key, kind, where, required=False, minimum=None, enum=None):
        if key not in obj:
            if required:
                self.err(f"{where}: '{key}' is required")
            return None
        v = obj[key]
        ok = {"string": isinstance(v, str), "object": isinstance(v, dict),
              "array": isinstance(v, list), "boolean": isinstance(v, bool),
              "integer": isinstance(v, int) and not isinstance(v, bool)}[kind]
        if not ok:
            self.err(f"{where}: '{key}' must be of type {kind}")
            return None
        if minimum is not None and v < minimum:
            self.err(f"{where}: '{key}' must be greater than or equal to {minimum}")
            return None
        if enum is not None and v not in enum:
            self.err(f"{where}: '{key}' must be one of {', '.join(enum)}")
            return None
        return v

    # --- OneFlow -----------------------------------------------------------------------
    def oneflow(self, t):
        self.typed(t, "name", "string", "service", required=True)
        self.typed(t, "description", "string", "service")
        self.typed(t, "deployment", "string", "service", enum=("none", "straight"))
        self.typed(t, "shutdown_action", "string", "service", enum=SHUTDOWN_ACTIONS)
        for key in ("ready_status_gate", "automatic_deletion", "on_hold"):
            self.typed(t, key, "boolean", "service")
        for key in ("user_inputs", "user_inputs_values", "networks"):
            self.typed(t, key, "object", "service")
        self.typed(t, "networks_values", "array", "service")
        roles = self.typed(t, "roles", "array", "service", required=True) or []
        for old, new in PRE7_NAMES.items():
            if old in t:
                self.err(f"flkit: service: '{old}' is the pre-7 name of '{new}'")
        names = [r.get("name") for r in roles if isinstance(r, dict)]
        for i, role in enumerate(roles):
            if not isinstance(role, dict):
                self.err(f"roles[{i}] must be of type object")
                continue
            self.role(role, i)
            n = role.get("name")
            if n in names[i + 1:]:
                self.err(f"Role name '{n}' is repeated")
        self.parents(roles)
        self.networks(t, roles)

    def networks(self, t, roles):
        nets = t.get("networks") if isinstance(t.get("networks"), dict) else {}
        for name, spec in nets.items():
            why = input_spec_error(spec)
            if why or not spec.split("|")[1:2] == ["network"]:
                self.err(f"service: network '{name}' {why or 'is not a network input'}"
                         " (M|network|<description>| |id:)")
        for r in (r for r in roles if isinstance(r, dict)):
            tc = r.get("template_contents") if isinstance(r.get("template_contents"), dict) else {}
            nics = tc.get("NIC", [])
            for nic in nics if isinstance(nics, list) else [nics]:
                ref = nic.get("NETWORK_ID") if isinstance(nic, dict) else None
                if isinstance(ref, str) and ref.startswith("$") and ref[1:] not in nets:
                    self.err(f"Role '{r.get('name')}' NIC NETWORK_ID '{ref}' names no network of "
                             "the service")

    def role(self, r, i):
        where = f"roles[{i}]"
        n = self.typed(r, "name", "string", where, required=True)
        if n is not None:
            where = f"Role '{n}'"
            if not ROLE_NAME.fullmatch(n):
                self.err(f"{where}: 'name' must match ^\\w+$")
        if "type" not in r:
            self.err(f"{where}: 'type' is required")
        elif r["type"] not in ("vm", "vr"):
            self.err(f"Unsupported role type \"{r['type']}\"")
        self.typed(r, "template_id", "integer", where, required=True, minimum=0)
        for old, new in PRE7_NAMES.items():
            if old in r:
                self.err(f"flkit: {where}: '{old}' is the pre-7 name of '{new}' (OneFlow 7 "
                         "converts a template only when every role uses the old names)")
        card = self.typed(r, "cardinality", "integer", where, minimum=0)
        card = 0 if card is None and "cardinality" not in r else card  # OneFlow 7's default
        lo = self.typed(r, "min_vms", "integer", where, minimum=0)
        hi = self.typed(r, "max_vms", "integer", where, minimum=0)
        self.typed(r, "cooldown", "integer", where, minimum=0)
        self.typed(r, "shutdown_action", "string", where, enum=SHUTDOWN_ACTIONS)
        for key in ("template_contents", "user_inputs", "user_inputs_values"):
            self.typed(r, key, "object", where)
        for key in ("parents", "elasticity_policies", "scheduled_policies"):
            self.typed(r, key, "array", where)
        if card is not None and lo is not None and lo > card:
            self.err(f"Role '{n}' 'cardinality' must be greater than or equal to 'min_vms'")
        if card is not None and hi is not None and hi < card:
            self.err(f"Role '{n}' 'cardinality' must be lower than or equal to 'max_vms'")
        ep = r.get("elasticity_policies") if isinstance(r.get("elasticity_policies"), list) else []
        sp = r.get("scheduled_policies") if isinstance(r.get("scheduled_policies"), list) else []
        if (ep or sp) and ("min_vms" not in r or "max_vms" not in r):
            # OneFlow 7's text, spaces as it has them.
            self.err(f"Role '{n}' with  'elasticity_policies' or 'scheduled_policies'must define "
                     "both 'min_vms' and 'max_vms'")
        for k, p in enumerate(ep):
            self.policy(p, f"Role '{n}', elasticity policy #{k}", elastic=True)
        for k, p in enumerate(sp):
            self.policy(p, f"Role '{n}', scheduled policy #{k}", elastic=False)

    def policy(self, p, where, elastic):
        if not isinstance(p, dict):
            self.err(f"{where} must be of type object")
            return
        self.typed(p, "type", "string", where, required=True, enum=POLICY_TYPES)
        self.typed(p, "adjust", "integer", where, required=True)
        self.typed(p, "min_adjust_step", "integer", where, minimum=1)
        if elastic:
            for key in ("period_number", "period", "cooldown"):
                self.typed(p, key, "integer", where, minimum=0)
            exp = self.typed(p, "expression", "string", where, required=True)
            if exp is not None and exp.strip() == "":
                self.err(f"{where} 'expression' cannot be empty")
            elif exp is not None:
                try:
                    self.names[id(p)] = parse_expression(exp)
                except ValueError as e:
                    self.err(f"{where} 'expression' parse error: {e}")
            return
        start, rec = p.get("start_time"), p.get("recurrence")
        if start is not None and rec is not None:
            self.err(f"{where} must define 'start_time' or 'recurrence', but not both")
        elif start is not None:
            if not isinstance(start, str) or not (start.isdigit() or valid_time(start)):
                # OneFlow 7's text, its 0YYY included.
                self.err(f"{where} 'start_time' is not a valid Time. "
                         "Try with YYYY-MM-DD hh:mm:ss or 0YYY-MM-DDThh:mm:ssZ")
        elif rec is not None:
            fields = rec.split() if isinstance(rec, str) else []
            if len(fields) != 5 or not all(CRON_FIELD.match(f) for f in fields):
                self.err(f"{where} 'recurrence' is not a valid cron expression")
        else:
            self.err(f"{where} needs to define either 'start_time' or 'recurrence'")

    def parents(self, roles):
        graph = {}
        for r in roles:
            if isinstance(r, dict) and isinstance(r.get("name"), str):
                ps = r.get("parents") if isinstance(r.get("parents"), list) else []
                graph[r["name"]] = [p for p in ps if isinstance(p, str)]
        for n, ps in graph.items():
            for p in ps:
                if p not in graph:
                    self.err(f"Role '{n}' has the parent '{p}', which is not a role of the service")
        state, reported = {}, set()

        def visit(n, path):
            state[n] = 1
            for p in graph.get(n, []):
                if p not in graph:
                    continue
                if state.get(p) == 1:
                    cycle = path[path.index(p):] + [p]
                    key = frozenset(cycle)
                    if key not in reported:
                        reported.add(key)
                        self.err(f"Role '{p}' is in a parents cycle: {' -> '.join(cycle)}")
                elif state.get(p) is None:
                    visit(p, path + [p])
            state[n] = 2

        for n in graph:
            if state.get(n) is None:
                visit(n, [n])

    # --- flkit ---------------------------------------------------------------------------
    def flkit(self, t):
        roles = [r for r in t.get("roles", []) if isinstance(r, dict)] if isinstance(t.get("roles"), list) else []
        by = {r.get("name"): r for r in roles if isinstance(r.get("name"), str)}
        listed = [str(r.get("name")) for r in roles]
        if self.kind == "coordinator" and listed != ["superlink"]:
            self.err("flkit: a coordinator has one role, 'superlink' (SuperNodes, zone A's too, "
                     f"go in a training-site service), not: {', '.join(listed)}")
        elif self.kind == "training-site" and listed != ["supernode"]:
            self.err("flkit: a training site has one role, 'supernode' (the SuperLink is in the "
                     f"coordinator zone's service), not: {', '.join(listed)}")
        elif self.kind == "service" and sorted(listed) != ["superlink", "supernode"]:
            self.err("flkit: the roles must be one 'superlink' and one 'supernode' (SuperNodes "
                     f"discover the role named superlink), not: {', '.join(listed)}")
        if t.get("deployment") != "straight":
            self.err("flkit: 'deployment' must be 'straight' (SuperNodes are created after the "
                     "SuperLink is READY; 'none' races)")
        if t.get("ready_status_gate") is not True:
            self.err("flkit: 'ready_status_gate' must be true (a role is running only when its "
                     "VMs reported READY=YES)")
        sl, sn = by.get("superlink"), by.get("supernode")
        if sl is not None:
            if (sl.get("cardinality"), sl.get("min_vms"), sl.get("max_vms")) != (1, 1, 1):
                self.err("flkit: role 'superlink' must have cardinality, min_vms and max_vms 1 "
                         "(one SuperLink, one state.db)")
            if sl.get("elasticity_policies") or sl.get("scheduled_policies"):
                self.err("flkit: role 'superlink' must have no elasticity or scheduled policies "
                         "(a singleton)")
            if sl.get("parents"):
                self.err("flkit: role 'superlink' must have no parents (it is the root)")
        sn_parents = sn.get("parents") if sn is not None else None
        if self.kind == "training-site":
            for r in roles:
                if r.get("parents"):
                    self.err(f"flkit: role '{r.get('name')}' of a training site must have no "
                             "parents (the SuperLink is in another zone's service; SuperNodes "
                             "retry until it answers)")
        elif self.kind == "service" and sn is not None and \
                not (isinstance(sn_parents, list) and "superlink" in sn_parents):
            self.err("flkit: role 'supernode' must have the parent 'superlink'")
        for r in roles:
            self.context(r)
        self.levels(t, roles)
        self.registered(t, roles)
        if self.kind != "service":
            self.multisite(t, roles)
        if sn is not None and self.kind != "coordinator":
            self.expressions(sn)
        if sn is not None and self.kind == "service":
            self.strategy_minimum(t, sl, sn)

    def context(self, r):
        n = r.get("name")
        tc = r.get("template_contents") if isinstance(r.get("template_contents"), dict) else {}
        ctx = tc.get("CONTEXT") if isinstance(tc.get("CONTEXT"), dict) else None
        if ctx is None:
            self.err(f"flkit: role '{n}' needs template_contents.CONTEXT (TOKEN, NETWORK, "
                     "REPORT_READY, READY_SCRIPT_PATH)")
            return
        for k, v in REQUIRED_CONTEXT.items():
            if ctx.get(k) != v:
                self.err(f"flkit: role '{n}' CONTEXT needs {k}=\"{v}\""
                         + (" (without it every OneGate call gets 401)" if k == "TOKEN" else ""))
        if not ctx.get("READY_SCRIPT_PATH"):
            self.err(f"flkit: role '{n}' CONTEXT needs READY_SCRIPT_PATH (flkit's ready.sh)")
        for k in ctx:
            if bare(k) == "FL_SUPERLINK_ADDRESS" and self.kind == "service":
                self.err(f"flkit: role '{n}' CONTEXT sets {k}: SuperNodes of a service find the "
                         "SuperLink through OneGate")

    def levels(self, t, roles):
        levels = [("the service", t.get("user_inputs"))]
        levels += [(f"role '{r.get('name')}'", r.get("user_inputs")) for r in roles]
        seen = {}
        for where, inputs in levels:
            if not isinstance(inputs, dict):
                continue
            here = set()
            for name, spec in inputs.items():
                b = bare(name)
                why = input_spec_error(spec)
                if why:
                    self.err(f"flkit: input {name} of {where} {why}")
                if b in INFRASTRUCTURE:
                    self.err(f"flkit: {name} in the user_inputs of {where}: infrastructure "
                             "variables belong in template_contents, not in user_inputs")
                if b == "FL_SUPERLINK_ADDRESS" and self.kind == "service":
                    self.err(f"flkit: {name} in the user_inputs of {where}: SuperNodes of a "
                             "service find the SuperLink through OneGate")
                elif b == "FL_SUPERLINK_ADDRESS" and self.kind == "coordinator":
                    self.err(f"flkit: {name} in the user_inputs of {where}: a coordinator has "
                             "no SuperNode to read it (the training sites are told it)")
                if b in here:
                    self.err(f"flkit: input {b} is defined twice in {where}")
                here.add(b)
                if b in seen and seen[b] != where:
                    self.err(f"flkit: input {b} is defined in {seen[b]} and in {where} (a "
                             "role-level input silently overrides the service's): keep one level")
                seen.setdefault(b, where)

    def registered(self, t, roles):
        """With --registry: every input is a variable its roles read, as the registry has it."""
        if not self.registry:
            return
        names = [r.get("name") for r in roles]
        levels = [("the service", t.get("user_inputs"), names)]
        levels += [(f"role '{r.get('name')}'", r.get("user_inputs"), [r.get("name")]) for r in roles]
        for where, inputs, readers in levels:
            if not isinstance(inputs, dict):
                continue
            for name, spec in inputs.items():
                m = USER_INPUT.match(spec) if isinstance(spec, str) else None
                for role in (r for r in readers if isinstance(r, str) and r in self.registry):
                    reg = self.registry[role].get(bare(name))
                    if reg is None:
                        self.err(f"flkit: input {name} of {where} is no variable role '{role}' "
                                 f"reads (fl-context user-inputs --role {role})")
                        continue
                    rm = USER_INPUT.match(reg)
                    if m and rm and (m.group("type"), m.group("label"), m.group("options")) != \
                            (rm.group("type"), rm.group("label"), rm.group("options")):
                        self.err(f"flkit: input {name} of {where} is '{spec}', the registry's "
                                 f"is '{reg}' (a template may change only M/O and the default)")

    def offered(self, t, roles, name):
        """The USER_INPUTS line of name at any level, or None."""
        for holder in [t] + roles:
            ins = holder.get("user_inputs")
            if isinstance(ins, dict):
                for key in ("ONEAPP_" + name, name):
                    if isinstance(ins.get(key), str):
                        return ins[key]
        return None

    def multisite(self, t, roles):
        what = "a coordinator" if self.kind == "coordinator" else "a training site"
        tls = self.offered(t, roles, "FL_TLS_ENABLED")
        if tls is None or input_default(tls) != "YES":
            self.err(f"flkit: {what} must offer FL_TLS_ENABLED with the default YES (TLS is "
                     "mandatory across zones)")
        if self.kind != "training-site":
            return
        for name in ("FL_SUPERLINK_ADDRESS", "FL_SSL_CA_CERTFILE"):
            spec = self.offered(t, roles, name)
            if spec is None or not spec.startswith("M|"):
                self.err(f"flkit: a training site must offer {name} as a mandatory input (M|): "
                         "zones share no OneGate, the deployer gives it")
        for name in ("FL_PARTITION_OFFSET", "FL_NUM_PARTITIONS"):
            if self.offered(t, roles, name) is None:
                self.err(f"flkit: a training site must offer {name} (each site trains on its "
                         "own partition range)")

    def expressions(self, sn):
        ep = sn.get("elasticity_policies")
        for k, p in enumerate(ep if isinstance(ep, list) else []):
            if not isinstance(p, dict):
                continue
            for name in self.names.get(id(p), []):
                if name not in PUBLISHED:
                    self.err(f"flkit: role 'supernode', elasticity policy #{k} names '{name}', "
                             f"which flkit does not publish ({', '.join(PUBLISHED)})")

    def value(self, t, sl, name):
        for holder in (sl or {}, t):
            vals = holder.get("user_inputs_values")
            if isinstance(vals, dict):
                for key in ("ONEAPP_" + name, name):
                    if vals.get(key) not in (None, ""):
                        return str(vals[key])
        for holder in (sl or {}, t):
            ins = holder.get("user_inputs")
            if isinstance(ins, dict):
                for key in ("ONEAPP_" + name, name):
                    d = input_default(ins.get(key))
                    if d is not None:
                        return d
        return self.defaults.get(name)

    def strategy_minimum(self, t, sl, sn):
        lo = sn.get("min_vms", sn.get("cardinality"))
        if not isinstance(lo, int):
            return
        need, why = 0, []
        for name in ("FL_MIN_FIT_CLIENTS", "FL_MIN_EVALUATE_CLIENTS", "FL_MIN_AVAILABLE_CLIENTS"):
            v = self.value(t, sl, name)
            if v is None:
                self.err(f"flkit: no value for {name} (neither in the template nor --default)")
                continue
            try:
                n = int(v)
            except ValueError:
                self.err(f"flkit: {name} '{v}' is not an integer")
                continue
            why.append(f"{name}={n}")
            need = max(need, n)
        strategy = self.value(t, sl, "FL_STRATEGY") or "FedAvg"
        try:
            f = int(self.value(t, sl, "FL_NUM_MALICIOUS") or 0)
        except ValueError:
            f = 0
        bound = {"Krum": 2 * f + 3, "Bulyan": 4 * f + 3}.get(strategy) if f > 0 else None
        if bound is not None:
            why.append(f"{strategy} with FL_NUM_MALICIOUS={f} needs {bound}")
            need = max(need, bound)
        if lo < need:
            self.err(f"flkit: role 'supernode' min_vms {lo} is below the {need} clients the "
                     f"strategy needs ({', '.join(why)}): at min_vms training would wait forever")


def check_template(t, defaults, kind="service", registry=None):
    """The error messages for one parsed template (OneFlow's first, then flkit's)."""
    c = Checker(defaults, kind, registry)
    if not isinstance(t, dict):
        return ["service: the template must be a JSON object"]
    c.oneflow(t)
    c.flkit(t)
    return c.errors


USAGE = ("usage: oneflow_check.py [--default NAME=VALUE]... [--registry ROLE=FILE]... "
         "[--kind service|coordinator|training-site] FILE...")


def load_registry(path):
    """{bare name: USER_INPUTS line} from fl-context user-inputs --format json."""
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return {bare(k): v for k, v in data.items() if isinstance(v, str)}


def main(argv):
    defaults, registry, files, args, kind = {}, {}, [], list(argv), "service"
    while args:
        a = args.pop(0)
        if a in ("--default", "--registry") and args:
            k, sep, v = args.pop(0).partition("=")
            if not sep:
                print(f"oneflow_check: {a} takes {'NAME=VALUE' if a == '--default' else 'ROLE=FILE'}",
                      file=sys.stderr)
                return 2
            if a == "--default":
                defaults[k] = v
                continue
            try:
                registry[k] = load_registry(v)
            except (OSError, ValueError) as e:
                print(f"oneflow_check: --registry {k}={v}: {e}", file=sys.stderr)
                return 2
        elif a == "--kind" and args and args[0] in KINDS:
            kind = args.pop(0)
        elif a.startswith("-"):
            print(USAGE, file=sys.stderr)
            return 2
        else:
            files.append((a, kind))
    if not files:
        print(USAGE, file=sys.stderr)
        return 2
    bad = 0
    for path, kind in files:
        try:
            with open(path, encoding="utf-8") as fh:
                t = json.load(fh)
        except (OSError, ValueError) as e:
            print(f"{path}: {e}", file=sys.stderr)
            bad += 1
            continue
        errors = check_template(t, defaults, kind, registry)
        for e in errors:
            print(f"{path}: {e}", file=sys.stderr)
        bad += bool(errors)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
