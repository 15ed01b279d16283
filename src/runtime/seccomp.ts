// A small seccomp filter for executors (defence in depth on top of namespaces and no capabilities): kernel
// interfaces a function never needs, and that kernel exploits favour, fail with ENOSYS. Built as classic BPF for
// bubblewrap's --add-seccomp-fd. x86_64 only; elsewhere executors run without it.

const AUDIT_ARCH_X86_64 = 0xc000003e;
const X32_SYSCALL_BIT = 0x40000000;
const RET_ALLOW = 0x7fff0000;
const RET_ERRNO = 0x00050000;
const RET_KILL_PROCESS = 0x80000000;
const ENOSYS = 38;

/** x86_64 syscall numbers refused inside executors. */
export const BLOCKED_SYSCALLS: Record<string, number> = {
  ptrace: 101,
  syslog: 103,
  process_vm_readv: 310,
  process_vm_writev: 311,
  add_key: 248,
  request_key: 249,
  keyctl: 250,
  bpf: 321,
  perf_event_open: 298,
  userfaultfd: 323,
  io_uring_setup: 425,
  io_uring_enter: 426,
  io_uring_register: 427,
  kexec_load: 246,
  kexec_file_load: 320,
  init_module: 175,
  finit_module: 313,
  delete_module: 176,
  mount: 165,
  umount2: 166,
  pivot_root: 155,
  open_tree: 428,
  move_mount: 429,
  fsopen: 430,
  fsconfig: 431,
  fsmount: 432,
  fspick: 433,
  mount_setattr: 442,
  unshare: 272,
  setns: 308,
  open_by_handle_at: 304,
};

function insn(code: number, jt: number, jf: number, k: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt16LE(code, 0);
  b.writeUInt8(jt, 2);
  b.writeUInt8(jf, 3);
  b.writeUInt32LE(k >>> 0, 4);
  return b;
}

const LD_W_ABS = 0x20;
const JEQ_K = 0x15;
const JGE_K = 0x35;
const RET_K = 0x06;

/** The filter program (struct sock_filter[]), or undefined where it does not apply. */
export function seccompProgram(arch: string = process.arch): Buffer | undefined {
  if (arch !== 'x64') return undefined;
  const nrs = Object.values(BLOCKED_SYSCALLS);
  const n = nrs.length;
  const prog: Buffer[] = [
    insn(LD_W_ABS, 0, 0, 4), // seccomp_data.arch
    insn(JEQ_K, 1, 0, AUDIT_ARCH_X86_64),
    insn(RET_K, 0, 0, RET_KILL_PROCESS),
    insn(LD_W_ABS, 0, 0, 0), // seccomp_data.nr
    insn(JGE_K, n + 1, 0, X32_SYSCALL_BIT), // the x32 ABI: refused wholesale
  ];
  nrs.forEach((nr, j) => prog.push(insn(JEQ_K, n - j, 0, nr)));
  prog.push(insn(RET_K, 0, 0, RET_ALLOW));
  prog.push(insn(RET_K, 0, 0, RET_ERRNO | ENOSYS));
  return Buffer.concat(prog);
}
