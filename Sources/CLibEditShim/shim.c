#include "CLibEditShim.h"

#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <wchar.h>

// libedit is loaded when the interactive shell starts, not linked: a one-shot `zkcli get` would otherwise load it
// and the three libraries it needs (libtinfo, libbsd, libmd) at every start, 0.4 MB of its peak RSS, for code only
// the shell runs (BENCHMARKS.md, issue 17). Every call into libedit goes through these pointers.
static struct {
    __typeof__(&el_init) el_init;
    __typeof__(&el_end) el_end;
    __typeof__(&el_gets) el_gets;
    __typeof__(&el_set) el_set;
    __typeof__(&el_get) el_get;
    __typeof__(&el_source) el_source;
    __typeof__(&el_resize) el_resize;
    __typeof__(&el_line) el_line;
    __typeof__(&el_insertstr) el_insertstr;
    __typeof__(&el_cursor) el_cursor;
    __typeof__(&el_push) el_push;
    __typeof__(&history_init) history_init;
    __typeof__(&history_end) history_end;
    __typeof__(&history) history;
} libedit;
static pthread_once_t libedit_once = PTHREAD_ONCE_INIT;
static int libedit_loaded = 0;

static void *zk_libedit_open(void) {
#ifdef __APPLE__
    static const char *const names[] = {"libedit.3.dylib", "libedit.dylib"};
#else
    static const char *const names[] = {"libedit.so.2", "libedit.so"};
#endif
    for (size_t index = 0; index < sizeof names / sizeof names[0]; index++) {
        void *handle = dlopen(names[index], RTLD_NOW | RTLD_LOCAL);
        if (handle != NULL) return handle;
    }
    return NULL;
}

static void zk_libedit_load_once(void) {
    void *handle = zk_libedit_open();
    if (handle == NULL) return;
#define ZK_RESOLVE(name) \
    if ((*(void **)&libedit.name = dlsym(handle, #name)) == NULL) return;
    ZK_RESOLVE(el_init)
    ZK_RESOLVE(el_end)
    ZK_RESOLVE(el_gets)
    ZK_RESOLVE(el_set)
    ZK_RESOLVE(el_get)
    ZK_RESOLVE(el_source)
    ZK_RESOLVE(el_resize)
    ZK_RESOLVE(el_line)
    ZK_RESOLVE(el_insertstr)
    ZK_RESOLVE(el_cursor)
    ZK_RESOLVE(el_push)
    ZK_RESOLVE(history_init)
    ZK_RESOLVE(history_end)
    ZK_RESOLVE(history)
#undef ZK_RESOLVE
    libedit_loaded = 1;
}

/// Whether libedit could be loaded (once per process).
static int zk_libedit_load(void) {
    pthread_once(&libedit_once, zk_libedit_load_once);
    return libedit_loaded;
}

EditLine *zk_el_init(const char *program) {
    if (!zk_libedit_load()) return NULL;
    return libedit.el_init(program, stdin, stdout, stderr);
}

void zk_el_end(EditLine *el) { libedit.el_end(el); }

const char *zk_el_gets(EditLine *el, int *count) { return libedit.el_gets(el, count); }

const LineInfo *zk_el_line(EditLine *el) { return libedit.el_line(el); }

int zk_el_insertstr(EditLine *el, const char *text) { return libedit.el_insertstr(el, text); }

int zk_el_set_prompt(EditLine *el, char *(*prompt)(EditLine *)) { return libedit.el_set(el, EL_PROMPT, prompt); }

int zk_el_set_editor(EditLine *el, const char *mode) { return libedit.el_set(el, EL_EDITOR, mode); }

int zk_el_set_hist(EditLine *el, History *hist) { return libedit.el_set(el, EL_HIST, libedit.history, hist); }

int zk_el_set_clientdata(EditLine *el, void *data) { return libedit.el_set(el, EL_CLIENTDATA, data); }

void *zk_el_get_clientdata(EditLine *el) {
    void *data = NULL;
    libedit.el_get(el, EL_CLIENTDATA, &data);
    return data;
}

int zk_el_addfn(EditLine *el, const char *name, const char *help, unsigned char (*function)(EditLine *, int)) {
    return libedit.el_set(el, EL_ADDFN, name, help, function);
}

int zk_el_bind(EditLine *el, const char *key, const char *function) {
    return libedit.el_set(el, EL_BIND, key, function, NULL);
}

int zk_el_refresh(EditLine *el) { return libedit.el_set(el, EL_REFRESH); }

int zk_el_source(EditLine *el, const char *file) { return libedit.el_source(el, file); }

void zk_el_cursor_to_end(EditLine *el) {
    const LineInfo *info = libedit.el_line(el);
    libedit.el_cursor(el, (int)(info->lastchar - info->cursor));
}

// Shows ^C at the end of the abandoned line, then ends el_gets through libedit's own newline (so the screen
// moves to a fresh line); the caller learns of the interrupt from zk_take_interrupt and drops the line.
static unsigned char zk_interrupt(EditLine *el, int ch) {
    (void)ch;
    zk_el_cursor_to_end(el);
    libedit.el_insertstr(el, "^C");
    libedit.el_push(el, "\n");
    return CC_REFRESH;
}

int zk_el_bind_interrupt(EditLine *el, const char *key) {
    if (libedit.el_set(el, EL_ADDFN, "zk-interrupt", "abandon the line", zk_interrupt) != 0) return -1;
    return libedit.el_set(el, EL_BIND, key, "zk-interrupt", NULL);
}

History *zk_history_init(int size) {
    if (!zk_libedit_load()) return NULL;
    History *hist = libedit.history_init();
    if (hist == NULL) return NULL;
    HistEvent event;
    libedit.history(hist, &event, H_SETSIZE, size);
    libedit.history(hist, &event, H_SETUNIQUE, 1);
    return hist;
}

void zk_history_end(History *hist) { libedit.history_end(hist); }

int zk_history_enter(History *hist, const char *line) {
    HistEvent event;
    return libedit.history(hist, &event, H_ENTER, line);
}

int zk_history_load(History *hist, const char *file) {
    HistEvent event;
    return libedit.history(hist, &event, H_LOAD, file);
}

int zk_history_save(History *hist, const char *file) {
    HistEvent event;
    return libedit.history(hist, &event, H_SAVE, file);
}

// One editor per process: the reader's state is global, as the signal handlers' must be.
static int zk_wake_fd = -1;
static void (*zk_on_wake)(EditLine *) = NULL;
static mbstate_t zk_mbstate;
static volatile sig_atomic_t zk_interrupted = 0;
static volatile sig_atomic_t zk_resized = 0;
static int zk_signal_fd = -1;

static void zk_poke(int fd) {
    if (fd >= 0) {
        char byte = 1;
        ssize_t ignored = write(fd, &byte, 1);
        (void)ignored;
    }
}

static void zk_sigint(int signo) {
    (void)signo;
    zk_interrupted = 1;
    int saved = errno;
    zk_poke(zk_signal_fd);
    errno = saved;
}

static void zk_sigwinch(int signo) {
    (void)signo;
    zk_resized = 1;
    int saved = errno;
    zk_poke(zk_signal_fd);
    errno = saved;
}

void zk_install_signal_handlers(int wake_fd) {
    zk_signal_fd = wake_fd;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    sigemptyset(&action.sa_mask);
    action.sa_handler = zk_sigint;
    sigaction(SIGINT, &action, NULL);
    action.sa_handler = zk_sigwinch;
    sigaction(SIGWINCH, &action, NULL);
    // A parent may have left them blocked (spawned with its own mask); this thread must receive them.
    sigset_t wanted;
    sigemptyset(&wanted);
    sigaddset(&wanted, SIGINT);
    sigaddset(&wanted, SIGWINCH);
    pthread_sigmask(SIG_UNBLOCK, &wanted, NULL);
}

int zk_take_interrupt(void) {
    int was = zk_interrupted;
    zk_interrupted = 0;
    return was;
}

static int zk_getc(EditLine *el, wchar_t *out) {
    for (;;) {
        if (zk_interrupted) {
            *out = 3;  // ^C, bound by the caller
            return 1;
        }
        if (zk_resized) {
            zk_resized = 0;
            libedit.el_resize(el);
        }
        struct pollfd fds[2] = {{.fd = 0, .events = POLLIN}, {.fd = zk_wake_fd, .events = POLLIN}};
        int count = poll(fds, zk_wake_fd >= 0 ? 2 : 1, -1);
        if (count < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (zk_wake_fd >= 0 && (fds[1].revents & POLLIN)) {
            char drain[64];
            while (read(zk_wake_fd, drain, sizeof drain) == (ssize_t)sizeof drain) {
            }
            if (zk_on_wake != NULL) zk_on_wake(el);
            continue;
        }
        if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            char byte;
            ssize_t got = read(0, &byte, 1);
            if (got == 0) return 0;
            if (got < 0) {
                if (errno == EINTR || errno == EAGAIN) continue;
                return -1;
            }
            wchar_t wide;
            size_t used = mbrtowc(&wide, &byte, 1, &zk_mbstate);
            if (used == (size_t)-2) continue;  // the middle of a multibyte character
            if (used == (size_t)-1) {
                memset(&zk_mbstate, 0, sizeof zk_mbstate);
                wide = (unsigned char)byte;
            }
            *out = wide;
            return 1;
        }
    }
}

int zk_el_install_reader(EditLine *el, int wake_fd, void (*on_wake)(EditLine *)) {
    zk_wake_fd = wake_fd;
    zk_on_wake = on_wake;
    memset(&zk_mbstate, 0, sizeof zk_mbstate);
    return libedit.el_set(el, EL_GETCFN, zk_getc);
}
