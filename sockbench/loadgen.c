/* The load generator in C: the conversations of sockbench/loadgen.py, with
 * a fraction of its CPU time per connection, so that a fast server and not
 * the generator sets the pace.  sockbench/native.py builds it on first use
 * and reads what it prints; loadgen.py's docstrings say what each figure
 * means, and this file keeps to them.
 *
 *   loadgen conn HOST PORT CONCURRENCY SECONDS GREETING PAYLOAD_HEX TIMEOUT SOURCES
 *   loadgen stream HOST PORT CONNECTIONS SECONDS GREETING MESSAGE_HEX BATCH TIMEOUT
 *                  DRAIN SNDBUF QUIET SERVER_PID SETUP
 *
 * Output, on standard output: "key value" lines, "error NAME COUNT" lines
 * (NAME is a number for an errno, else words with '_' for spaces), "end",
 * then for conn the latencies as native doubles, as many as "latencies" says.
 * Traffic goes only to HOST, which the caller keeps to loopback.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef MSG_NOSIGNAL  /* macOS: SIGPIPE is ignored below instead */
#define MSG_NOSIGNAL 0
#endif

#define MAX_CONNS 4096
#define MAX_ERRORS 32

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6
         + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void die(const char *why) {
    fprintf(stderr, "loadgen: %s\n", why);
    exit(2);
}

/* Error counts by name; an errno is named by its number. */
static struct { char name[40]; long count; } errors[MAX_ERRORS];
static int nerrors;

static void count_error(const char *name) {
    for (int i = 0; i < nerrors; i++)
        if (strcmp(errors[i].name, name) == 0) { errors[i].count++; return; }
    if (nerrors >= MAX_ERRORS - 1) name = "other";  /* the last slot is kept for it */
    for (int i = 0; i < nerrors; i++)
        if (strcmp(errors[i].name, name) == 0) { errors[i].count++; return; }
    snprintf(errors[nerrors].name, sizeof errors[nerrors].name, "%s", name);
    errors[nerrors++].count = 1;
}

static void count_errno(int code) {
    char name[16];
    snprintf(name, sizeof name, "%d", code);
    count_error(name);
}

static void print_errors(void) {
    for (int i = 0; i < nerrors; i++)
        printf("error %s %ld\n", errors[i].name, errors[i].count);
}

static size_t unhex(const char *hex, char **out) {
    size_t n = strlen(hex) / 2;
    *out = malloc(n + 1);
    if (*out == NULL) die("out of memory");
    for (size_t i = 0; i < n; i++) {
        unsigned byte;
        if (sscanf(hex + 2 * i, "%2x", &byte) != 1) die("bad hex");
        (*out)[i] = (char)byte;
    }
    return n;
}

static struct sockaddr_in address(const char *host, int port) {
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)port);
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) die("HOST must be an IPv4 address");
    return sa;
}

/* A non-blocking TCP socket; in one system call where the kernel can. */
static int tcp_socket(void) {
#ifdef SOCK_NONBLOCK
    return socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
#else
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd >= 0) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
#endif
}

/* ---- greet and chat: loadgen.run ---- */

struct conn { int fd; double started; long received; int sent; };

static struct conn conns[MAX_CONNS];
static struct pollfd pfds[MAX_CONNS];
static int nconns;

static double *latencies;
static long nlatencies, latency_room;
static long opened, completed, late;

static const char *payload;
static size_t payload_len;
static long greeting;
static double deadline;

static void finish(int i, double t, const char *error, int code) {
    close(conns[i].fd);
    conns[i].fd = -1;  /* compacted away after the poll round */
    if (error != NULL) { count_error(error); return; }
    if (code != 0) { count_errno(code); return; }
    if (nlatencies == latency_room) {
        latency_room = latency_room ? 2 * latency_room : 65536;
        latencies = realloc(latencies, latency_room * sizeof *latencies);
        if (latencies == NULL) die("out of memory");
    }
    latencies[nlatencies++] = t - conns[i].started;
    if (t <= deadline) completed++; else late++;
}

static void open_one(const struct sockaddr_in *sa, int sources, double t) {
    int fd = tcp_socket();
    if (fd < 0) { count_errno(errno); opened++; return; }
    if (sources > 0) {
        /* See loadgen.SOURCES: more loopback source addresses, more ports
         * for the TIME_WAIT a closing client leaves behind. */
#ifdef IP_BIND_ADDRESS_NO_PORT
        int one = 1;
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
#endif
        struct sockaddr_in src = {0};
        src.sin_family = AF_INET;
        src.sin_addr.s_addr = htonl(0x7f000001u + (unsigned)(opened % sources));
        bind(fd, (struct sockaddr *)&src, sizeof src);
    }
    opened++;
    if (connect(fd, (const struct sockaddr *)sa, sizeof *sa) < 0 && errno != EINPROGRESS) {
        count_errno(errno);
        close(fd);
        return;
    }
    conns[nconns] = (struct conn){fd, t, 0, 0};
    /* A server that says nothing first (v4_poll) is talked to as soon as the
     * connection is up; every other one once its greeting is in. */
    pfds[nconns] = (struct pollfd){fd, payload_len && !greeting ? POLLOUT : POLLIN, 0};
    nconns++;
}

static void send_payload(int i, double t) {
    struct conn *c = &conns[i];
    if (send(c->fd, payload, payload_len, MSG_NOSIGNAL) < 0 || shutdown(c->fd, SHUT_WR) < 0) {
        finish(i, t, NULL, errno);
        return;
    }
    c->sent = 1;
    pfds[i].events = POLLIN;
}

static void step(int i, double t) {
    static char buffer[65536];
    struct conn *c = &conns[i];
    if (payload_len && !c->sent && !greeting) { send_payload(i, t); return; }
    /* Read until the kernel has nothing more: a greeting and the server's
     * close usually arrive together, and this saves a wait for the second. */
    for (;;) {
        ssize_t n = recv(c->fd, buffer, sizeof buffer, 0);
        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                finish(i, t, NULL, errno);
            return;
        }
        if (n == 0) {
            if (c->received < greeting) finish(i, t, "short_greeting", 0);
            else if (payload_len && !c->sent) finish(i, t, "closed_before_the_payload", 0);
            else finish(i, t, NULL, 0);
            return;
        }
        c->received += n;
        if (payload_len && !c->sent && c->received >= greeting) {
            send_payload(i, t);
            if (c->fd < 0) return;
        }
    }
}

static void compact(void) {
    int kept = 0;
    for (int i = 0; i < nconns; i++)
        if (conns[i].fd >= 0) { conns[kept] = conns[i]; pfds[kept++] = pfds[i]; }
    nconns = kept;
}

static int run_conn(char **argv) {
    struct sockaddr_in sa = address(argv[0], atoi(argv[1]));
    int concurrency = atoi(argv[2]);
    double duration = atof(argv[3]), timeout;
    greeting = atol(argv[4]);
    char *bytes;
    payload_len = unhex(argv[5], &bytes);
    payload = bytes;
    timeout = atof(argv[6]);
    int sources = atoi(argv[7]);
    if (concurrency < 1 || concurrency > MAX_CONNS) die("CONCURRENCY out of range");

    double cpu0 = cpu(), start = now(), window_cpu = -1, t = start, next_sweep = start + 0.1;
    deadline = start + duration;
    while (nconns || t < deadline) {
        if (t >= deadline && window_cpu < 0) window_cpu = cpu() - cpu0;
        while (nconns < concurrency && t < deadline) { open_one(&sa, sources, t); t = now(); }
        int ready = poll(pfds, (nfds_t)nconns, 50);
        for (int i = 0; ready > 0 && i < nconns; i++)
            if (pfds[i].revents) { ready--; step(i, now()); }
        compact();
        t = now();
        if (t >= next_sweep) {
            for (int i = 0; i < nconns; i++)
                if (t - conns[i].started > timeout) finish(i, t, "timeout", 0);
            compact();
            next_sweep = t + 0.1;
        }
    }
    double wall = now() - start, total = cpu() - cpu0;
    printf("opened %ld\ncompleted %ld\nlate %ld\nwall %.9f\ncpu %.6f\nwindow_cpu %.6f\n",
           opened, completed, late, wall, total, window_cpu < 0 ? total : window_cpu);
    print_errors();
    printf("latencies %ld\nend\n", nlatencies);
    fflush(stdout);
    if (fwrite(latencies, sizeof *latencies, (size_t)nlatencies, stdout) != (size_t)nlatencies)
        die("cannot write the latencies");
    return 0;
}

/* ---- stream: loadgen.stream ---- */

static long tick_field(const char *stat, int from, int to, long *ppid) {
    /* Fields after the command name: [0] state, [1] ppid, [11..14] CPU. */
    const char *p = strrchr(stat, ')');
    long total = 0;
    if (p == NULL) return -1;
    p++;
    for (int field = 0; field < to; field++) {
        char *end;
        while (*p == ' ') p++;
        long value = strtol(p, &end, 10);
        if (field == 1 && ppid != NULL) *ppid = value;
        if (field >= from) total += value;
        while (*end && *end != ' ') end++;
        p = end;
    }
    return total;
}

static int read_stat(long pid, char *out, size_t size) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL) return -1;
    size_t n = fread(out, 1, size - 1, f);
    fclose(f);
    out[n] = 0;
    return 0;
}

/* CPU ticks of ``pid`` (with its reaped children) and of its live
 * descendants, as sockbench.servers.cpu_seconds counts them; -1 if unknown. */
static long server_ticks(long pid) {
    static long pids[65536], parents[65536];
    char stat[1024];
    if (pid <= 0 || read_stat(pid, stat, sizeof stat) < 0) return -1;
    long total = tick_field(stat, 11, 15, NULL);
    int n = 0;
    DIR *proc = opendir("/proc");
    if (proc == NULL) return total;
    struct dirent *entry;
    while ((entry = readdir(proc)) != NULL && n < 65536) {
        char *end;
        long each = strtol(entry->d_name, &end, 10);
        if (*end || each <= 0 || read_stat(each, stat, sizeof stat) < 0) continue;
        pids[n] = each;
        tick_field(stat, 15, 2, &parents[n]);
        n++;
    }
    closedir(proc);
    /* Breadth first from pid: a descendant's parent is found before it. */
    static long todo[65536];
    int head = 0, tail = 0;
    todo[tail++] = pid;
    while (head < tail) {
        long parent = todo[head++];
        for (int i = 0; i < n && tail < 65536; i++) {
            if (parents[i] != parent) continue;
            todo[tail++] = pids[i];
            if (read_stat(pids[i], stat, sizeof stat) == 0) total += tick_field(stat, 11, 13, NULL);
        }
    }
    return total;
}

struct work { long ticks; long queued; };

static struct work server_work(long pid, const int *fds, int n) {
    struct work w = {server_ticks(pid), -1};
#ifdef TIOCOUTQ
    w.queued = 0;
    for (int i = 0; i < n; i++) {
        int queued = 0;
        if (ioctl(fds[i], TIOCOUTQ, &queued) == 0) w.queued += queued;
    }
#else
    (void)fds; (void)n;
#endif
    return w;
}

/* Milliseconds left until ``deadline``, at least 1. */
static int left_ms(double deadline) {
    double left = (deadline - now()) * 1000;
    return left < 1 ? 1 : (int)left;
}

/* Connect, set the send buffer, read the greeting, all by ``deadline``; -1
 * with the error counted. */
static int connect_and_greet(const struct sockaddr_in *sa, long want, double deadline,
                             int sndbuf, int count) {
    int fd = tcp_socket();
    if (fd < 0) { if (count) count_errno(errno); return -1; }
    struct pollfd p = {fd, POLLOUT, 0};
    if (connect(fd, (const struct sockaddr *)sa, sizeof *sa) < 0) {
        int code = 0;
        socklen_t len = sizeof code;
        if (errno != EINPROGRESS) code = errno;
        else if (poll(&p, 1, left_ms(deadline)) <= 0) code = -1;
        else getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &len);
        if (code) {
            if (count) { if (code > 0) count_errno(code); else count_error("timeout"); }
            close(fd);
            return -1;
        }
    }
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    char buffer[4096];
    long received = 0;
    p.events = POLLIN;
    while (received < want) {
        if (now() >= deadline || poll(&p, 1, left_ms(deadline)) <= 0) {
            if (count) count_error("timeout");
            close(fd);
            return -1;
        }
        size_t room = (size_t)(want - received) < sizeof buffer ? (size_t)(want - received)
                                                                 : sizeof buffer;
        ssize_t n = recv(fd, buffer, room, 0);
        if (n <= 0) {
            if (count) count_errno(n == 0 ? ECONNRESET : errno);
            close(fd);
            return -1;
        }
        received += n;
    }
    return fd;
}

static int run_stream(char **argv) {
    struct sockaddr_in sa = address(argv[0], atoi(argv[1]));
    int connections = atoi(argv[2]);
    double duration = atof(argv[3]);
    long want = atol(argv[4]);
    char *message;
    size_t message_len = unhex(argv[5], &message);
    long batch = atol(argv[6]);
    double timeout = atof(argv[7]), drain = atof(argv[8]);
    int sndbuf = atoi(argv[9]);
    double quiet = atof(argv[10]);
    long server_pid = atol(argv[11]);
    /* Opening every connection is not measured: one bound for all of them,
     * as loadgen.StreamJob.setup says. */
    double setup = atof(argv[12]);
    if (connections < 1 || connections > MAX_CONNS) die("CONNECTIONS out of range");
    size_t chunk_len = message_len * (size_t)batch;
    char *chunk = malloc(chunk_len ? chunk_len : 1);
    if (chunk == NULL) die("out of memory");
    for (long i = 0; i < batch; i++) memcpy(chunk + i * message_len, message, message_len);

    static int fds[MAX_CONNS];
    static long long sent[MAX_CONNS];
    long long total_sent = 0;
    long closed_count = 0;
    int n = 0;
    double cpu0 = cpu(), setup_deadline = now() + setup;
    for (int i = 0; i < connections; i++) {
        int fd = connect_and_greet(&sa, want, setup_deadline, sndbuf, 1);
        if (fd < 0) continue;
        fds[n] = fd; sent[n] = 0;
        pfds[n] = (struct pollfd){fd, POLLOUT, 0};
        n++;
    }
    double start = now(), end_at = start + duration;
    while (n && now() < end_at) {
        if (poll(pfds, (nfds_t)n, 50) <= 0) continue;
        int kept = 0;
        for (int i = 0; i < n; i++) {
            if (pfds[i].revents) {
                ssize_t got = send(fds[i], chunk, chunk_len, MSG_NOSIGNAL);
                if (got >= 0) sent[i] += got;
                else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                    count_errno(errno);
                    close(fds[i]);
                    continue;
                }
            }
            fds[kept] = fds[i]; sent[kept] = sent[i]; pfds[kept] = pfds[i];
            pfds[kept++].revents = 0;
        }
        n = kept;
    }
    int kept = 0;
    for (int i = 0; i < n; i++) {
        if (shutdown(fds[i], SHUT_WR) < 0) { count_errno(errno); close(fds[i]); continue; }
        fds[kept] = fds[i]; sent[kept] = sent[i];
        pfds[kept++] = (struct pollfd){fds[i], POLLIN, 0};
    }
    n = kept;
    /* The drain lasts while the server makes progress: see loadgen.stream. */
    double last_close = start, drain_deadline = now() + drain, progress = now();
    struct work working = server_work(server_pid, fds, n);
    int poked = 0;
    while (n && now() < drain_deadline) {
        double t = now();
        if (t - progress > quiet) {
            struct work still = server_work(server_pid, fds, n);
            int same = still.ticks == working.ticks && still.queued == working.queued;
            if (same && poked) break;
            if (same) {
                int fd = connect_and_greet(&sa, want, now() + timeout, sndbuf, 0);
                if (fd >= 0) close(fd);
                poked = 1;
            }
            progress = t;
            working = still;
        }
        if (poll(pfds, (nfds_t)n, 50) <= 0) continue;
        int closed = 0;
        kept = 0;
        for (int i = 0; i < n; i++) {
            if (pfds[i].revents) {
                char buffer[65536];
                ssize_t got = recv(fds[i], buffer, sizeof buffer, 0);
                int gone = 0;
                if (got == 0) {
                    last_close = progress = now();
                    closed = 1;
                    total_sent += sent[i];
                    closed_count++;
                    gone = 1;
                } else if (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                    count_errno(errno);
                    gone = 1;
                }
                if (gone) { close(fds[i]); continue; }
            }
            fds[kept] = fds[i]; sent[kept] = sent[i]; pfds[kept] = pfds[i];
            pfds[kept++].revents = 0;
        }
        n = kept;
        if (closed) working = server_work(server_pid, fds, n);
    }
    for (int i = 0; i < n; i++) { count_error("not_closed_by_the_server"); close(fds[i]); }
    printf("sent %lld\nconnections %ld\nseconds %.9f\ncpu %.6f\n", total_sent, closed_count,
           last_close - start, cpu() - cpu0);
    print_errors();
    printf("end\n");
    return 0;
}

int main(int argc, char **argv) {
    signal(SIGPIPE, SIG_IGN);
    if (argc == 10 && strcmp(argv[1], "conn") == 0) return run_conn(argv + 2);
    if (argc == 15 && strcmp(argv[1], "stream") == 0) return run_stream(argv + 2);
    die("usage: loadgen conn HOST PORT CONCURRENCY SECONDS GREETING PAYLOAD_HEX TIMEOUT "
        "SOURCES | stream HOST PORT CONNECTIONS SECONDS GREETING MESSAGE_HEX BATCH TIMEOUT "
        "DRAIN SNDBUF QUIET SERVER_PID SETUP");
    return 2;
}
