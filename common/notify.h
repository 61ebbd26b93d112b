/*
 * sd_notify without libsystemd: one datagram to $NOTIFY_SOCKET, so hubd and
 * the adapters' watch mode can run as Type=notify services. Does nothing
 * when not started by systemd.
 */
#ifndef UG_NOTIFY_H
#define UG_NOTIFY_H

/* Send a state such as "READY=1" or "STOPPING=1". */
void ug_notify_systemd(const char *state);

#endif
