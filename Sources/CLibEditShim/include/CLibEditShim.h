// Wrappers around libedit, callable from Swift (el_set / el_get / history are variadic), plus a character reader
// that wakes up for messages from other threads and for Ctrl-C. libedit is loaded at run time (dlopen), so every
// call into it goes through here. Everything is prefixed zk_.
#ifndef ZK_CLIBEDIT_SHIM_H
#define ZK_CLIBEDIT_SHIM_H

#include <histedit.h>

#pragma clang assume_nonnull begin

/// el_init with the process's stdin, stdout and stderr (Swift 6 cannot touch those C globals). libedit is loaded
/// (dlopen) by the first zk_el_init or zk_history_init, which return NULL when it cannot be; the other functions
/// are for an editor or history they made.
EditLine *_Nullable zk_el_init(const char *program);
void zk_el_end(EditLine *el);
const char *_Nullable zk_el_gets(EditLine *el, int *count);
const LineInfo *_Nullable zk_el_line(EditLine *el);
int zk_el_insertstr(EditLine *el, const char *text);
int zk_el_set_prompt(EditLine *el, char *_Nullable (*_Nonnull prompt)(EditLine *));
int zk_el_set_editor(EditLine *el, const char *mode);
int zk_el_set_hist(EditLine *el, History *history);
int zk_el_set_clientdata(EditLine *el, void *_Nullable data);
void *_Nullable zk_el_get_clientdata(EditLine *el);
int zk_el_addfn(EditLine *el, const char *name, const char *help, unsigned char (*function)(EditLine *, int));
int zk_el_bind(EditLine *el, const char *key, const char *function);
/// Redraws the prompt and the line from the start of the current screen line.
int zk_el_refresh(EditLine *el);
/// Reads ~/.editrc (or `file`), as libedit programs do.
int zk_el_source(EditLine *el, const char *_Nullable file);
/// Moves the cursor to the end of the line.
void zk_el_cursor_to_end(EditLine *el);
/// Binds `key` to abandoning the line: ^C is shown, the screen moves to a new line and el_gets returns.
int zk_el_bind_interrupt(EditLine *el, const char *key);

History *_Nullable zk_history_init(int size);
void zk_history_end(History *history);
int zk_history_enter(History *history, const char *line);
int zk_history_load(History *history, const char *file);
int zk_history_save(History *history, const char *file);

/// Installs a character reader that polls stdin and `wake_fd`. When `wake_fd` becomes readable it is drained
/// and `on_wake` runs on the reading thread, inside libedit (so it may print and call zk_el_refresh). A Ctrl-C
/// (SIGINT, see zk_install_interrupt_handler) makes the reader return the character ^C, which the caller binds.
/// A SIGWINCH makes libedit re-read the terminal size.
int zk_el_install_reader(EditLine *el, int wake_fd, void (*on_wake)(EditLine *));

/// SIGINT and SIGWINCH handlers that only set flags and write a byte to `wake_fd` (async-signal-safe).
void zk_install_signal_handlers(int wake_fd);
/// Returns whether a Ctrl-C arrived since the last call, and forgets it.
int zk_take_interrupt(void);

#pragma clang assume_nonnull end

#endif
