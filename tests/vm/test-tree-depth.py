#!/usr/bin/env python3
"""The tree at depth 3 (nestlab-run --nest 3): the engine's monitor runs
tinyvmm, which runs tinyvmm, which runs guests/vmtest/treemark. treemark
MARKs, through the introspection ABI, what it knows of itself: its page
tables and the entries it wrote, its CR0 and CR3 as it reads them, and its
registers at one MARK. The test checks the engine's tree against that and
against two more oracles of its own:

  - names, levels, parents, states and monitors of the four nodes;
  - every MARK the guest printed is an event at level 3 with the guest's
    value, and the registers recorded at MARK "regs" are the ones the guest
    set (ESP, ESI, EDI, the address after the call, CR0, CR3);
  - at that MARK (--tree-at), level 3 executes and levels 1 and 2 are in
    their WRMSR: their EIP is the instruction after tinyvmm's WRMSR of
    MSR_NESTLAB_RUN, found in tinyvmm.elf by objdump;
  - vm0 destroyed there takes levels 2 and 3 with it;
  - a snapshot taken halfway and restored in another process ends with
    the same tree and events as the run that went straight through;
  - the translation chain of the guest's probe address: its own PDE and PTE
    (addresses walked here from the CR3 it reported), then each tinyvmm's
    guest RAM base (from their banners), and the host-physical word is the
    signature the guest wrote there.

usage: test-tree-depth.py NESTLAB_RUN TINYVMM_ELF TREEMARK_ELF OBJDUMP
"""
import os
import re
import subprocess
import sys
import tempfile

ESI_VALUE = 0x51515151
EDI_VALUE = 0xD1D1D1D1
SIGNATURE = 0x5EED1234
MSR_NESTLAB_RUN = 0x4E4C0001

failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def run(nestlab_run, tinyvmm, treemark, extra, assist=True):
    cmd = ([nestlab_run, '--nest', '3'] + (['--assist'] if assist else []) +
           ['--tinyvmm', tinyvmm] + extra + [treemark])
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=240)
    if p.returncode != 1:  # the guest's exit status 0 (nestlab-run: 2 * status + 1)
        print(p.stdout + p.stderr)
        sys.exit('nestlab-run exited with %d' % p.returncode)
    return p.stdout, p.stderr


def parse_tree(text):
    """nodes {index: dict} and events [dict] of the first tree in text."""
    nodes, events, cur = {}, [], None
    for line in text.splitlines():
        m = re.match(r'node (\d+) "([^"]*)": level (\d+), parent (-|\d+), (\w+), '
                     r'children (\d+)(.*)', line)
        if m:
            if int(m.group(1)) in nodes:
                break  # a second tree
            cur = {'name': m.group(2), 'level': int(m.group(3)),
                   'parent': None if m.group(4) == '-' else int(m.group(4)),
                   'state': m.group(5), 'rest': m.group(7), 'regs': {}}
            nodes[int(m.group(1))] = cur
            continue
        m = re.match(r'event (\d+) level (\d+) node (\d+) mark ([^=]+)=0x([0-9a-f]+)', line)
        if m:
            cur = {'icount': int(m.group(1)), 'level': int(m.group(2)),
                   'node': int(m.group(3)), 'name': m.group(4), 'value': int(m.group(5), 16),
                   'regs': {}}
            events.append(cur)
            continue
        if line.startswith('event'):
            cur = None
            continue
        if cur is not None and line.startswith(('  regs', '       eip')):
            for k, v in re.findall(r'(\w+)=([0-9a-f]+)', line):
                cur['regs'][k] = int(v, 16)
    return nodes, events


def wrmsr_return(objdump, tinyvmm):
    """The address after tinyvmm's WRMSR of its run loop (the one followed by
    abi_child_stopped)."""
    out = subprocess.run([objdump, '-d', tinyvmm], stdout=subprocess.PIPE, text=True,
                         check=True).stdout.splitlines()
    for i, line in enumerate(out[:-1]):
        if re.search(r'\twrmsr', line) and '<abi_child_stopped>' in out[i + 1]:
            return int(out[i + 1].split(':')[0], 16)
    sys.exit('no WRMSR followed by abi_child_stopped in tinyvmm')


def main():
    nestlab_run, tinyvmm, treemark, objdump = sys.argv[1:5]
    out, err = run(nestlab_run, tinyvmm, treemark, ['--tree', '--stats'])
    marks = {k: int(v, 16) for k, v in re.findall(r'treemark: (\w+)=0x([0-9a-f]+)', out)}
    check(set(marks) >= {'va', 'pa', 'pde', 'pte', 'sig', 'cr0', 'cr3', 'regs', 'eip'},
          'the guest reported its marks: %s' % sorted(marks))
    check('no engine ABI' not in out, 'every MARK of the guest was answered NL_OK')
    bases = [int(b, 16) for b in re.findall(r'tinyvmm: guest .*: \d+ MiB at 0x([0-9a-f]+)', out)]
    check(len(bases) == 2, 'two tinyvmm banners with their guests\' RAM bases')

    nodes, events = parse_tree(err.split('tree at the end:')[1])
    want = [(0, 'machine', 0, None), (1, 'vm0', 1, 0), (2, 'tinyvmm.elf', 2, 1),
            (3, 'treemark.elf', 3, 2)]
    check(sorted(nodes) == [0, 1, 2, 3, 4], 'five nodes: %s' % sorted(nodes))
    for i, name, level, parent in want:
        n = nodes.get(i, {})
        check(n.get('name') == name and n.get('level') == level and n.get('parent') == parent,
              'node %d is %s at level %d under %s' % (i, name, level, parent))
    check('monitor nestlab' in nodes[1]['rest'] and 'runs monitor tinyvmm' in nodes[1]['rest'],
          'vm0 is run by the engine\'s monitor and runs tinyvmm')
    check('monitor tinyvmm' in nodes[2]['rest'] and 'runs monitor tinyvmm' in nodes[2]['rest'],
          'node 2 is run by tinyvmm and runs tinyvmm')
    check('monitor tinyvmm' in nodes[3]['rest'] and 'runs monitor treemark' in nodes[3]['rest'],
          'node 3 is run by tinyvmm and said HELLO itself as treemark')
    n4 = nodes.get(4, {})
    check(n4.get('name') == 'child' and n4.get('level') == 4 and n4.get('parent') == 3 and
          n4.get('state') == 'destroyed', 'node 4, treemark\'s VM child, is destroyed')

    # Malformed calls from level 3: the result codes, and the engine's LOG lines.
    results = dict(re.findall(r'treemark: bad ([\w-]+)=(\d+)', out))
    want_bad = {'create-before-hello': 8, 'hello-wild': 2, 'mark-wild': 2, 'mark-version': 3,
                'command': 1, 'hello': 0, 'hello-again': 8, 'create-past-memory': 6,
                'create-overlap': 5, 'create': 0, 'create-again': 7, 'destroy': 0,
                'destroy-again': 7}
    check({k: int(v) for k, v in results.items()} == want_bad,
          'malformed calls get their codes: %s' % results)
    logs = re.findall(r'event \d+ level 3 node 3 log engine: (\S+(?: 0x4e4c0077)?) from level 3 '
                      r'refused: '
                      r'.* \((NL_E_\w+)\)', err)
    check(len(logs) == 10 and ('command 0x4e4c0077', 'NL_E_COMMAND') in logs and ('VM_CREATE', 'NL_E_MAP_SIZE') in logs and
          ('MARK', 'NL_E_FAULT') in logs and ('HELLO', 'NL_E_FAULT') in logs,
          'each refused call is a LOG line naming it and its level: %s' % logs)

    # --stats: each level's exit table is its nodes' exits; the matrix.
    for i in (1, 2, 3):
        total = int(re.search(r'exits (\d+)', nodes[i]['rest']).group(1))
        check(re.search(r'  level %d: %s \(monitor \w+\), %d exits' %
                        (i, re.escape(nodes[i]['name']), total), err) is not None,
              '--stats: level %d\'s exit table is %s\'s %d exits' % (i, nodes[i]['name'], total))
    rows = {}
    for m in re.finditer(r'  level (\d): (\d+) traps:((?: L\d \d+ \([0-9.]+\))+) cycles', err):
        rows[int(m.group(1))] = (int(m.group(2)),
                                 [int(x) for x in re.findall(r'L\d (\d+) ', m.group(3))])
    check(sorted(rows) == [1, 2, 3] and all(len(rows[k][1]) == k for k in rows),
          '--stats: the multiplication matrix has a row per level, a column per level below')
    if sorted(rows) == [1, 2, 3]:
        check(all(rows[k][1][0] >= rows[k][0] for k in rows) and rows[1][1][0] == rows[1][0],
              'every trap is an exit of the engine\'s monitor (level 1\'s: exactly one)')
        n3 = int(re.search(r'exits (\d+)', nodes[3]['rest']).group(1))
        check(rows[3][1][2] == n3 and rows[3][1][1] >= rows[3][1][2],
              'level 3\'s traps set off all %d exits its monitor counted, each through level 1'
              % n3)
        check(rows[3][1][0] * rows[2][0] > rows[2][1][0] * rows[3][0],
              'a trap at level 3 costs the engine\'s monitor more exits than one at level 2')

    by_name = {e['name']: e for e in events}
    for name, value in marks.items():
        e = by_name.get(name)
        check(e is not None and e['value'] == value and e['level'] == 3 and e['node'] == 3,
              'MARK %s=0x%08x is an event of level 3' % (name, value))
    r = by_name['regs']['regs']
    check(r.get('esp') == marks['regs'] and r.get('esi') == ESI_VALUE and
          r.get('edi') == EDI_VALUE and r.get('eip') == marks['eip'],
          'the registers at MARK regs are the guest\'s (ESP, ESI, EDI, EIP)')
    check(r.get('cr0') == marks['cr0'] and r.get('cr3') == marks['cr3'] and r.get('cpl') == 0,
          'its CR0, CR3 and CPL are the guest\'s own (as tinyvmm holds them)')

    va, at = marks['va'], by_name['regs']['icount']
    pde_addr = (marks['cr3'] & ~0xfff) + (va >> 22) * 4
    out2, err2 = run(nestlab_run, tinyvmm, treemark,
                     ['--tree-at', str(at), '--translate', '3:0x%x' % va,
                      '--translate', '2:0x%x' % bases[1]])
    tree2 = err2.split('tree at %d instructions:' % at)[1]
    nodes2, _ = parse_tree(tree2)
    check(re.search(r'tree: level 3 executing \(node 3\)', tree2) is not None,
          'at MARK regs, level 3 executes')
    check([nodes2[i]['state'] for i in range(4)] == ['running', 'running', 'running',
                                                      'executing'],
          'states: machine, vm0 and tinyvmm running, treemark executing')
    r3 = nodes2[3]['regs']
    check(r3.get('esp') == marks['regs'] and r3.get('esi') == ESI_VALUE and
          r3.get('eip') == marks['eip'] and r3.get('eax') == 0 and
          r3.get('cr3') == marks['cr3'],
          'level 3\'s live registers: the guest\'s, EAX = NL_OK')
    ret = wrmsr_return(objdump, tinyvmm)
    for i in (1, 2):
        ri = nodes2[i]['regs']
        check(ri.get('eip') == ret and ri.get('ecx') == MSR_NESTLAB_RUN and
              ri.get('cpl') == 0 and not ri.get('cr0', 1 << 31) & (1 << 31),
              'level %d is in tinyvmm\'s WRMSR (EIP 0x%x, ECX MSR_NESTLAB_RUN, CPL 0, '
              'paging off)' % (i, ret))

    steps = re.findall(r'step level (\d) node \d (virtual|physical) ([0-9a-f]+) -> ([0-9a-f]+)'
                       r'(?: pde\[([0-9a-f]+)\]=([0-9a-f]+) pte\[([0-9a-f]+)\]=([0-9a-f]+))?',
                       tree2.split('translate 3:')[1].split('translate 2:')[0])
    pa = marks['pa'] | (va & 0xfff)
    want_steps = [('3', 'virtual', va, pa), ('3', 'physical', pa, bases[1] + pa),
                  ('2', 'physical', bases[1] + pa, bases[0] + bases[1] + pa),
                  ('1', 'physical', bases[0] + bases[1] + pa, bases[0] + bases[1] + pa)]
    got = [(s[0], s[1], int(s[2], 16), int(s[3], 16)) for s in steps]
    check(got == want_steps, 'the chain of 0x%x: %s' % (va, got))
    if steps:
        s = steps[0]
        check(s[4] and int(s[4], 16) == pde_addr and int(s[5], 16) == marks['pde'] and
              int(s[6], 16) == (marks['pde'] & ~0xfff) + ((va >> 12) & 1023) * 4 and
              int(s[7], 16) == marks['pte'],
              'its page-table entries are the guest\'s, at the addresses its CR3 gives')
    m = re.search(r'host-physical ([0-9a-f]+) holds ([0-9a-f]+)', tree2.split('translate 3:')[1])
    check(m is not None and int(m.group(2), 16) == SIGNATURE,
          'the host-physical word is the signature the guest wrote there')
    m = re.search(r'translate 2:\S+ node 2\n  step level 2 node 2 virtual ([0-9a-f]+) -> '
                  r'([0-9a-f]+) paging off', tree2)
    check(m is not None, 'level 2 (tinyvmm) translates with paging off')

    # Destroying the engine's VM takes the levels under it with it.
    p = subprocess.run([nestlab_run, '--nest', '3', '--assist', '--tinyvmm', tinyvmm, '--vm-at',
                        'destroy:vm0@%d' % at, '--tree', treemark], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=240)
    gone, _ = parse_tree(p.stderr.split('tree at the end:')[1] if 'tree at the end:' in p.stderr
                         else '')
    check([gone.get(i, {}).get('state') for i in (1, 2, 3)] == ['destroyed'] * 3,
          'vm0 destroyed at MARK regs: it and the two levels under it are destroyed')

    snap = os.path.join(tempfile.mkdtemp(), 'depth3.snap')
    run(nestlab_run, tinyvmm, treemark, ['--snapshot-at', '%d:%s' % (at, snap)])
    p = subprocess.run([nestlab_run, '--restore', snap, '--tree'], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=240)
    os.unlink(snap)
    def tree_lines(text):
        text = text.split('tree at the end:')[1] if 'tree at the end:' in text else ''
        return [l for l in text.splitlines()
                if l.startswith(('tree:', 'node ', 'event ', '  regs ', '       eip='))]
    end = tree_lines(err)
    check(p.returncode == 1 and end and tree_lines(p.stderr) == end,
          'restored from a snapshot at MARK regs, the run ends with the same tree and events')

    # The faithful stack (no assist: each tinyvmm takes its guest's traps
    # through its own IDT) gives the same tree, and the same level at MARK.
    out_f, err_f = run(nestlab_run, tinyvmm, treemark, ['--tree'], assist=False)
    nodes_f, events_f = parse_tree(err_f.split('tree at the end:')[1])
    check(all(nodes_f.get(i, {}).get('name') == name and nodes_f[i]['level'] == level and
              nodes_f[i]['parent'] == parent for i, name, level, parent in want),
          'faithful stack: names, levels and parents of the tree')
    marks_f = [e for e in events_f if e.get('name') == 'regs']
    check(len(marks_f) == 1 and marks_f[0]['level'] == 3 and marks_f[0]['node'] == 3,
          'faithful stack: MARK regs comes from level 3, node 3')
    if marks_f:
        at_f = marks_f[0]['icount']
        _, err_f2 = run(nestlab_run, tinyvmm, treemark, ['--tree-at', str(at_f)], assist=False)
        tree_f = err_f2.split('tree at %d instructions:' % at_f)[1]
        nodes_f2, _ = parse_tree(tree_f)
        check(re.search(r'tree: level 3 executing \(node 3\)', tree_f) is not None,
              'faithful stack: at MARK regs, level 3 executes')
        r3f = nodes_f2.get(3, {}).get('regs', {})
        check(r3f.get('esp') == marks['regs'] and r3f.get('esi') == ESI_VALUE and
              r3f.get('eip') == marks['eip'] and r3f.get('eax') == 0,
              'faithful stack: level 3\'s live registers are the guest\'s, EAX = NL_OK')

    if failures:
        print('%d check(s) failed' % len(failures))
        return 1
    print('all checks passed')
    return 0


if __name__ == '__main__':
    sys.exit(main())
