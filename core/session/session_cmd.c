/* Command marshalling: a caller thread queues a command under the session
 * mutex and wakes the network thread with uv_async_send; the network thread
 * runs the queue and signals the condition variable that waiting callers
 * sleep on. A call made on the network thread runs inline. */
#include <stdlib.h>

#include "session_int.h"

bool sw__session_on_net_thread(sw_session *ses)
{
    if (!ses->started)
        return false;
    uv_thread_t self = uv_thread_self();
    return uv_thread_equal(&self, &ses->net_tid) != 0;
}

static void enqueue(sw_session *ses, sw_cmd *cmd)
{
    cmd->next = NULL;
    if (ses->cmd_tail)
        ses->cmd_tail->next = cmd;
    else
        ses->cmd_head = cmd;
    ses->cmd_tail = cmd;
}

int sw__session_call(sw_session *ses, sw_cmd *cmd)
{
    cmd->destroy = NULL;
    cmd->done = false;
    cmd->result = 0;
    if (sw__session_on_net_thread(ses)) {
        if (ses->shutting_down)
            return SW_ERR_ABORTED;
        cmd->fn(ses, cmd);
        return cmd->result;
    }
    uv_mutex_lock(&ses->mu);
    if (!ses->accepting) {
        uv_mutex_unlock(&ses->mu);
        return SW_ERR_ABORTED;
    }
    enqueue(ses, cmd);
    uv_async_send(&ses->wake);
    while (!cmd->done)
        uv_cond_wait(&ses->cv, &ses->mu);
    uv_mutex_unlock(&ses->mu);
    return cmd->result;
}

int sw__session_post(sw_session *ses, sw_cmd *cmd)
{
    cmd->done = false;
    cmd->result = 0;
    if (sw__session_on_net_thread(ses)) {
        if (ses->shutting_down) {
            cmd->destroy(cmd);
            return SW_ERR_ABORTED;
        }
        /* Run it later from the loop, as a caller on another thread would
         * see it: the caller may hold state the command touches. */
    }
    uv_mutex_lock(&ses->mu);
    if (!ses->accepting) {
        uv_mutex_unlock(&ses->mu);
        cmd->destroy(cmd);
        return SW_ERR_ABORTED;
    }
    enqueue(ses, cmd);
    uv_async_send(&ses->wake);
    uv_mutex_unlock(&ses->mu);
    return 0;
}

/* Marks a waited-for command done (caller under no lock). */
static void finish(sw_session *ses, sw_cmd *cmd)
{
    if (cmd->destroy) {
        cmd->destroy(cmd);
        return;
    }
    uv_mutex_lock(&ses->mu);
    cmd->done = true;
    uv_cond_broadcast(&ses->cv);
    uv_mutex_unlock(&ses->mu);
}

void sw__session_run_commands(sw_session *ses)
{
    for (;;) {
        uv_mutex_lock(&ses->mu);
        sw_cmd *cmd = ses->cmd_head;
        if (cmd) {
            ses->cmd_head = cmd->next;
            if (!ses->cmd_head)
                ses->cmd_tail = NULL;
        }
        uv_mutex_unlock(&ses->mu);
        if (!cmd)
            return;
        if (ses->shutting_down && cmd->fn)
            cmd->result = SW_ERR_ABORTED;
        else if (cmd->fn)
            cmd->fn(ses, cmd);
        finish(ses, cmd);
    }
}

void sw__session_refuse_commands(sw_session *ses)
{
    uv_mutex_lock(&ses->mu);
    ses->accepting = false;
    sw_cmd *cmd = ses->cmd_head;
    ses->cmd_head = ses->cmd_tail = NULL;
    uv_mutex_unlock(&ses->mu);
    while (cmd) {
        sw_cmd *next = cmd->next;
        cmd->result = SW_ERR_ABORTED;
        finish(ses, cmd);
        cmd = next;
    }
}

typedef struct run_cmd {
    sw_cmd base;
    int (*fn)(sw_session *ses, void *arg);
    void *arg;
} run_cmd;

static void run_fn(sw_session *ses, sw_cmd *cmd)
{
    run_cmd *c = (run_cmd *)cmd;
    cmd->result = c->fn(ses, c->arg);
}

int sw__session_run(sw_session *ses, int (*fn)(sw_session *ses, void *arg), void *arg)
{
    if (!ses)
        return SW_ERR_INVALID_ARG;
    run_cmd c = {.base = {.fn = run_fn}, .fn = fn, .arg = arg};
    return sw__session_call(ses, &c.base);
}
