/*
 * libkmod's log callback, in C because libkmod hands it the message as a
 * format and a va_list: stable Rust can neither declare a function that
 * takes a va_list nor format one (the c_variadic feature is unstable). So
 * this function formats the message with vsnprintf and hands Rust a plain
 * string; src/libkmod/messages.rs logs it. `data` is that Rust function,
 * given to kmod_set_log_fn with this one, whose address Rust gets from
 * kmod_ready_libkmod_log_fn.
 */
#include <stdio.h>

#include "log.h"

static void kmod_ready_libkmod_log(void *data, int priority, const char *file, int line,
				   const char *fn, const char *format, va_list args)
{
	/* Longer messages are cut: a log line, not a document. */
	char message[1024];

	(void)file;
	(void)line;
	(void)fn;
	vsnprintf(message, sizeof(message), format, args);
	((kmod_ready_sink)data)(priority, message);
}

kmod_ready_log_fn kmod_ready_libkmod_log_fn(void)
{
	return kmod_ready_libkmod_log;
}
