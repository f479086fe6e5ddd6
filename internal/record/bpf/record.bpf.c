// SPDX-License-Identifier: GPL-2.0
/* brig's privilege recorder. Every program first checks that the current
 * task is in the recorded cgroup (or below it), then that recording has
 * begun (the container's first execve), and only then looks at its event.
 *
 * - tp_btf/sched_process_exec: begins the recording.
 * - tp_btf/cap_capable: capability checks, aggregated per (cap, syscall,
 *   granted/denied) in a hash map; checks made from the kernel's
 *   non-auditing helpers are dropped by kernel stack.
 * - tp_btf/sys_exit: the syscall bitmap, bind/connect addresses read from
 *   user memory (the argument registers are intact at exit), and files
 *   opened for writing, with their path walked from the dentry up to the
 *   task's root. One syscall tracepoint, not sys_enter and sys_exit: on
 *   this kernel each one costs every syscall of every task a slow path.
 * - Syscalls that never reach sys_exit with their number are inferred:
 *   exit/exit_group at tp_btf/sched_process_exit, rt_sigreturn when a
 *   signal is delivered to a handler (tp_btf/signal_deliver).
 */
#include "types.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

/* Set from Go before loading (spec.Variables). */
volatile const __u64 cgroup_id = 0;  /* cgroup v2 id of the container */
volatile const __u32 cgroup_level = 0; /* its depth below the v2 root */
volatile const __u64 skip_ino = 0;   /* execs of this file don't begin */
volatile const __u32 skip_dev = 0;   /* (kernel dev_t of skip_ino) */
volatile const __u32 begun_at_start = 0;

#define MAX_SYSCALL 1024
#define STACK_DEPTH 32 /* a power of two: frames are indexed with a mask */
#define NOAUDIT_RANGES 8
#define PATH_DEPTH 16
#define NAME_LEN 128

#define EV_BIND 1
#define EV_CONNECT 2
#define EV_FILE 3

#define AF_INET 2
#define AF_INET6 10
#define FMODE_WRITE 0x2
#define TMPFS_MAGIC 0x01021994

#define NR_OPEN 2
#define NR_CREAT 85
#define NR_OPENAT 257
#define NR_OPENAT2 437
#define NR_CONNECT 42
#define NR_BIND 49
#define NR_RT_SIGRETURN 15
#define NR_EXIT 60
#define NR_EXIT_GROUP 231

struct cap_key {
	__u32 cap;
	__s32 nr; /* syscall in progress, -1 outside one */
	__u32 denied;
};

struct net_event {
	__u8 kind;
	__u8 pad;
	__u16 family;
	__u16 proto;  /* sk_protocol: 6 tcp, 17 udp, 262 mptcp ... */
	__u16 port;   /* host order */
	__u16 sk_type;
	__u16 pad2;
	__u8 addr[16];
};

struct file_event {
	__u8 kind;
	__u8 tmpfs;     /* path is the mount point of a tmpfs */
	__u8 depth;     /* names used, leaf first */
	__u8 truncated; /* the walk did not reach the root */
	char names[PATH_DEPTH][NAME_LEN];
};

struct range {
	__u64 start;
	__u64 end;
};

struct file_key {
	__u64 dentry;
	__u64 mnt;
	__u64 ino;
};

/* state[0] != 0 once the container's first execve happened. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} state SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_SYSCALL);
	__type(key, __u32);
	__type(value, __u8);
} syscalls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct cap_key);
	__type(value, __u64);
} caps SEC(".maps");

/* Kernel text ranges of the non-auditing capability helpers. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NOAUDIT_RANGES);
	__type(key, __u32);
	__type(value, struct range);
} noaudit SEC(".maps");

/* counters[0]: noaudit checks dropped; [1]: events lost (ring full). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct file_key);
	__type(value, __u8);
} files_seen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} events SEC(".maps");

/* Unused instances so bpf2go emits the Go types. */
const struct net_event *unused_net __attribute__((unused));
const struct file_event *unused_file __attribute__((unused));
const struct cap_key *unused_cap __attribute__((unused));
const struct range *unused_range __attribute__((unused));

static __always_inline int in_cgroup(void)
{
	return bpf_get_current_ancestor_cgroup_id(cgroup_level) == cgroup_id;
}

static __always_inline int begun(void)
{
	if (begun_at_start)
		return 1;
	__u32 k = 0;
	__u32 *v = bpf_map_lookup_elem(&state, &k);
	return v && *v;
}

static __always_inline void count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &idx);
	if (v)
		__sync_fetch_and_add(v, 1);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p, int old_pid, struct linux_binprm *bprm)
{
	if (!in_cgroup() || begun())
		return 0;
	if (skip_ino) {
		struct inode *ino = BPF_CORE_READ(bprm, file, f_inode);
		if (BPF_CORE_READ(ino, i_ino) == skip_ino &&
		    BPF_CORE_READ(ino, i_sb, s_dev) == skip_dev)
			return 0; /* the runtime re-executing itself */
	}
	__u32 k = 0, one = 1;
	bpf_map_update_elem(&state, &k, &one, BPF_ANY);
	return 0;
}

/* The kernel stack of the current check, per CPU (too big for callbacks
 * to index on the BPF stack). */
struct stack {
	__u64 ip[STACK_DEPTH];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct stack);
} stacks SEC(".maps");

struct stack_ctx {
	__u32 n;
	__u32 hit;
};

/* Is frame i inside one of the noaudit ranges? Runs under bpf_loop, so the
 * verifier checks the body once instead of every frame x range pair. */
static long frame_step(__u32 i, struct stack_ctx *c)
{
	__u32 k = 0;
	struct stack *st = bpf_map_lookup_elem(&stacks, &k);
	if (!st || i >= c->n)
		return 1;
	__u64 ip = st->ip[i & (STACK_DEPTH - 1)];
	for (__u32 r = 0; r < NOAUDIT_RANGES; r++) {
		__u32 rk = r;
		struct range *rg = bpf_map_lookup_elem(&noaudit, &rk);
		if (!rg || !rg->start)
			return 0;
		if (ip >= rg->start && ip < rg->end) {
			c->hit = 1;
			return 1;
		}
	}
	return 0;
}

static __always_inline int noaudit_caller(void *ctx)
{
	__u32 k = 0;
	struct stack *st = bpf_map_lookup_elem(&stacks, &k);
	if (!st)
		return 0;
	long n = bpf_get_stack(ctx, st->ip, sizeof(st->ip), 0);
	if (n <= 0)
		return 0;
	struct stack_ctx c = {.n = n / 8};
	bpf_loop(STACK_DEPTH, frame_step, &c, 0);
	return c.hit;
}

SEC("tp_btf/cap_capable")
int BPF_PROG(on_capable, const struct cred *cred, struct user_namespace *target_ns,
	     const struct user_namespace *ns, int cap, int ret)
{
	if (!in_cgroup() || !begun())
		return 0;
	if (noaudit_caller(ctx)) {
		count(0);
		return 0;
	}
	struct task_struct *t = bpf_get_current_task_btf();
	/* A check made with borrowed credentials is not the container's:
	 * overlayfs, for one, works on its layers as the mounter (with
	 * override_creds), so the rootfs's own CAP_SYS_ADMIN and
	 * CAP_DAC_OVERRIDE checks would otherwise land in the profile. */
	if (cred != BPF_CORE_READ(t, real_cred))
		return 0;
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(t);
	struct cap_key key = {
		.cap = cap,
		.nr = (__s32)BPF_CORE_READ(regs, orig_ax),
		.denied = ret != 0,
	};
	__u64 one = 1;
	__u64 *v = bpf_map_lookup_elem(&caps, &key);
	if (v) {
		__sync_fetch_and_add(v, 1);
	} else if (bpf_map_update_elem(&caps, &key, &one, BPF_NOEXIST)) {
		/* another CPU inserted it first */
		v = bpf_map_lookup_elem(&caps, &key);
		if (v)
			__sync_fetch_and_add(v, 1);
	}
	return 0;
}

static __always_inline struct file *fd_file(struct task_struct *t, long fd)
{
	struct fdtable *fdt = BPF_CORE_READ(t, files, fdt);
	if (fd < 0 || fd >= BPF_CORE_READ(fdt, max_fds))
		return 0;
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *f = 0;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

static __always_inline void net_event(struct pt_regs *regs, __u8 kind)
{
	long fd = regs->di; /* regs is a trusted BTF pointer: direct loads */
	void *uaddr = (void *)regs->si;
	long len = regs->dx;
	__u16 family = 0;
	if (len < 8 || bpf_probe_read_user(&family, sizeof(family), uaddr))
		return;
	if (family != AF_INET && family != AF_INET6)
		return;
	struct net_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(1);
		return;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->family = family;
	__u16 port = 0;
	bpf_probe_read_user(&port, sizeof(port), uaddr + 2);
	e->port = __builtin_bswap16(port);
	if (family == AF_INET)
		bpf_probe_read_user(e->addr, 4, uaddr + 4);
	else if (len >= 24)
		bpf_probe_read_user(e->addr, 16, uaddr + 8);
	struct file *f = fd_file(bpf_get_current_task_btf(), fd);
	if (f) {
		struct socket *sock = BPF_CORE_READ(f, private_data);
		struct sock *sk = BPF_CORE_READ(sock, sk);
		e->proto = BPF_CORE_READ(sk, sk_protocol);
		e->sk_type = BPF_CORE_READ(sk, sk_type);
	}
	bpf_ringbuf_submit(e, 0);
}

static __always_inline void mark(long nr)
{
	if (nr >= 0 && nr < MAX_SYSCALL) {
		__u32 k = nr;
		__u8 *seen = bpf_map_lookup_elem(&syscalls, &k);
		if (seen && !*seen)
			*seen = 1;
	}
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_task_exit, struct task_struct *p, _Bool group_dead)
{
	if (!in_cgroup() || !begun())
		return 0;
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	long nr = BPF_CORE_READ(regs, orig_ax);
	if (nr == NR_EXIT || nr == NR_EXIT_GROUP)
		mark(nr);
	return 0;
}

SEC("tp_btf/signal_deliver")
int BPF_PROG(on_signal, int sig, void *info, struct k_sigaction *ka)
{
	if (!in_cgroup() || !begun())
		return 0;
	/* A handler (not SIG_DFL 0 / SIG_IGN 1) returns with rt_sigreturn. */
	if ((unsigned long)BPF_CORE_READ(ka, sa.sa_handler) > 1)
		mark(NR_RT_SIGRETURN);
	return 0;
}

/* Per-CPU scratch for the file event: the path walk runs in a bpf_loop
 * callback (a plain loop with reads in it is too much for the verifier). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct file_event);
} scratch SEC(".maps");

struct walk_ctx {
	struct dentry *d;
	struct vfsmount *vm;
	struct dentry *rd; /* the task's root */
	struct vfsmount *rm;
	__u32 n;
};

/* One step up from c->d towards the task's root, storing names leaf first. */
static long walk_step(__u32 i, struct walk_ctx *c)
{
	__u32 k = 0;
	struct file_event *e = bpf_map_lookup_elem(&scratch, &k);
	if (!e)
		return 1;
	/* Locals, not c->x, inside BPF_CORE_READ: the macro would relocate
	 * the walk_ctx access too. */
	struct dentry *d = c->d;
	struct vfsmount *vm = c->vm;
	if (d == c->rd && vm == c->rm) {
		e->truncated = 0;
		return 1;
	}
	if (d == BPF_CORE_READ(vm, mnt_root)) {
		struct mount *m = (void *)vm - bpf_core_field_offset(struct mount, mnt);
		struct mount *parent = BPF_CORE_READ(m, mnt_parent);
		if (parent == m) { /* the real root; the task's root is not above */
			e->truncated = 0;
			return 1;
		}
		c->d = BPF_CORE_READ(m, mnt_mountpoint);
		c->vm = (void *)parent + bpf_core_field_offset(struct mount, mnt);
		return 0;
	}
	struct dentry *up = BPF_CORE_READ(d, d_parent);
	if (up == d) {
		e->truncated = 0;
		return 1;
	}
	if (c->n >= PATH_DEPTH)
		return 1;
	const unsigned char *name = BPF_CORE_READ(d, d_name.name);
	bpf_probe_read_kernel_str(e->names[c->n & (PATH_DEPTH - 1)], NAME_LEN, name);
	c->n++;
	e->depth = c->n;
	c->d = up;
	return 0;
}

#define O_ACCMODE 03
#define O_CREAT 0100
#define O_TRUNC 01000

/* Could this open have returned a writable fd? Decided from the flags in
 * the saved registers, so read-only opens (most of them) cost no walk
 * through the fd table; FMODE_WRITE on the file then confirms. */
static __always_inline int write_flags(__u64 flags)
{
	return (flags & O_ACCMODE) != 0 || (flags & (O_CREAT | O_TRUNC)) != 0;
}

static __always_inline int write_open(struct pt_regs *regs, long nr)
{
	/* Load both registers up front: a pointer chosen by nr would make the
	 * verifier see one load with two kinds of pointer. */
	__u64 si = regs->si, dx = regs->dx;
	if (nr == NR_CREAT)
		return 1;
	if (nr == NR_OPEN)
		return write_flags(si);
	if (nr == NR_OPENAT)
		return write_flags(dx);
	if (nr == NR_OPENAT2) { /* struct open_how: flags come first */
		__u64 flags = 0;
		if (bpf_probe_read_user(&flags, sizeof(flags), (void *)dx))
			return 1;
		return write_flags(flags);
	}
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(on_exit, struct pt_regs *regs, long ret)
{
	if (!in_cgroup() || !begun())
		return 0;
	long nr = regs->orig_ax; /* regs is a trusted BTF pointer: direct load */
	mark(nr);
	/* Attempts count, failed or not: the program needed to try. */
	if (nr == NR_BIND) {
		net_event(regs, EV_BIND);
		return 0;
	}
	if (nr == NR_CONNECT) {
		net_event(regs, EV_CONNECT);
		return 0;
	}
	if (ret < 0 || !write_open(regs, nr))
		return 0;
	struct task_struct *t = bpf_get_current_task_btf();
	struct file *f = fd_file(t, ret);
	if (!f || !(BPF_CORE_READ(f, f_mode) & FMODE_WRITE))
		return 0;

	struct dentry *d = BPF_CORE_READ(f, f_path.dentry);
	struct vfsmount *vm = BPF_CORE_READ(f, f_path.mnt);
	int tmpfs = BPF_CORE_READ(f, f_inode, i_sb, s_magic) == TMPFS_MAGIC;
	if (tmpfs) /* report the tmpfs mount point, not each scratch file */
		d = BPF_CORE_READ(vm, mnt_root);

	struct file_key key = {
		.dentry = (__u64)d,
		.mnt = (__u64)vm,
		.ino = BPF_CORE_READ(d, d_inode, i_ino),
	};
	__u8 one = 1;
	if (bpf_map_update_elem(&files_seen, &key, &one, BPF_NOEXIST))
		return 0; /* already reported */

	__u32 k = 0;
	struct file_event *e = bpf_map_lookup_elem(&scratch, &k);
	if (!e)
		return 0;
	e->kind = EV_FILE;
	e->tmpfs = tmpfs;
	e->depth = 0;
	e->truncated = 1;
	struct walk_ctx c = {
		.d = d,
		.vm = vm,
		.rd = BPF_CORE_READ(t, fs, root.dentry),
		.rm = BPF_CORE_READ(t, fs, root.mnt),
	};
	bpf_loop(PATH_DEPTH * 2, walk_step, &c, 0);
	if (bpf_ringbuf_output(&events, e, sizeof(*e), 0)) {
		count(1);
		bpf_map_delete_elem(&files_seen, &key);
	}
	return 0;
}
