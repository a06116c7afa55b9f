/*
 * log.c's interface, in C types. Rust declares the same (messages.rs), and
 * tests/libkmod_prototypes.rs has the compiler compare the two, and
 * kmod_ready_log_fn with what libkmod.h's kmod_set_log_fn takes.
 */
#ifndef KMOD_READY_LOG_H
#define KMOD_READY_LOG_H

#include <stdarg.h>

/* libkmod's log callback. */
typedef void (*kmod_ready_log_fn)(void *data, int priority, const char *file, int line,
				  const char *fn, const char *format, va_list args);

/* The Rust function the callback's `data` points to. */
typedef void (*kmod_ready_sink)(int priority, const char *message);

/* The callback's address: Rust cannot declare a function with a va_list. */
kmod_ready_log_fn kmod_ready_libkmod_log_fn(void);

#endif
