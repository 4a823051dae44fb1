/*
 * The GIL around engine calls, CPython made safe for the processes engine's
 * fork, and Ctrl-C during a call.
 *
 * GIL: the sequential engine runs nodes on the calling thread, which keeps
 * the GIL for the whole call (hnpy_tls_holds_gil), so a Python node costs a
 * function call. Other engines run with the GIL released; their workers take
 * it per Python node call. A worker thread that is not Python's gets a
 * thread state once (pinned: kept with the GIL released, deleted when the
 * thread exits), so later calls are a plain PyGILState_Ensure/Release.
 *
 * Fork: the processes engine forks its workers from inside an engine call,
 * while this thread has released the GIL and other Python threads may hold
 * it. pthread_atfork hooks, active only while a call started from Python is
 * in flight and only on a thread without the GIL (os.fork does its own),
 * take the GIL and run PyOS_BeforeFork before fork, PyOS_AfterFork_Parent
 * after it in the parent (then release it), and PyOS_AfterFork_Child in the
 * child, which keeps the GIL for good: a worker process runs one batch at a
 * time on one thread, so its Python nodes run at full speed. This holds
 * whether workers are forked per call or kept between calls.
 *
 * Ctrl-C: on the sequential engine, Python raises KeyboardInterrupt inside
 * the running node; on the others, a SIGINT handler chained in front of
 * Python's (main thread only) sets hnpy_abort so that every further Python
 * node call fails at once, and Python's own handler raises after the call.
 */
#include "hnpy.h" /* Python.h first: it sets the feature macros */

#include <pthread.h>
#include <signal.h>
#include <string.h>

_Thread_local int hnpy_tls_holds_gil;
atomic_int hnpy_abort;
atomic_int hnpy_active_calls;

static _Thread_local int tls_pinned;
static pthread_key_t pin_key;
static PyObject *stashed_abort; /* strong, GIL: the KeyboardInterrupt or SystemExit to re-raise */

int hnpy_python_alive(void) {
#if PY_VERSION_HEX >= 0x030D0000
  return Py_IsInitialized() && !Py_IsFinalizing();
#else
  return Py_IsInitialized() && !_Py_IsFinalizing();
#endif
}

/* Thread exit of a pinned worker thread: delete its thread state. */
static void unpin(void *tstate) {
  if (!tstate || !hnpy_python_alive()) return; /* finalizing: the interpreter frees it */
  PyEval_RestoreThread(tstate);
  PyThreadState_Clear(tstate);
  PyThreadState_DeleteCurrent(); /* also drops the GIL */
}

void hnpy_gil_enter(hnpy_gil *g) {
  g->took = !hnpy_tls_holds_gil;
  if (!g->took) return;
  if (!tls_pinned && !PyGILState_GetThisThreadState()) {
    /* A thread Python does not know: make its thread state once and keep it. */
    (void)PyGILState_Ensure();
    PyThreadState *ts = PyEval_SaveThread();
    (void)pthread_setspecific(pin_key, ts);
  }
  tls_pinned = 1;
  g->state = PyGILState_Ensure();
}

void hnpy_gil_exit(hnpy_gil *g) {
  if (g->took) PyGILState_Release(g->state);
}

/* ---- fork ----------------------------------------------------------------- */

static _Thread_local int fork_took;
static _Thread_local PyGILState_STATE fork_state;
static _Thread_local sigset_t fork_mask;

/*
 * SIGINT is blocked on the forking thread while the fork hooks run: the
 * Python code they run (logging's lock hooks, for one) would otherwise
 * take a pending Ctrl-C as its own KeyboardInterrupt and drop it
 * ("Exception ignored"). It is delivered when the hooks are done.
 */
static void before_fork(void) {
  fork_took = 0;
  if (atomic_load(&hnpy_active_calls) == 0 || hnpy_tls_holds_gil || !hnpy_python_alive()) return;
  if (PyGILState_Check()) return; /* os.fork and friends prepare themselves */
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  pthread_sigmask(SIG_BLOCK, &block, &fork_mask);
  fork_state = PyGILState_Ensure();
  PyOS_BeforeFork();
  fork_took = 1;
}

static void after_fork_parent(void) {
  if (!fork_took) return;
  fork_took = 0;
  PyOS_AfterFork_Parent();
  PyGILState_Release(fork_state);
  pthread_sigmask(SIG_SETMASK, &fork_mask, NULL);
}

static void after_fork_child(void) {
  if (!fork_took) return;
  fork_took = 0;
  PyOS_AfterFork_Child();
  pthread_sigmask(SIG_SETMASK, &fork_mask, NULL);
  /*
   * Objects inherited from the parent go to the GC's permanent generation: a
   * collection in the worker would otherwise write to every one of them (their
   * GC links), copying every page of the parent's heap.
   */
  PyObject *gc = PyImport_ImportModule("gc");
  PyObject *r = gc ? PyObject_CallMethod(gc, "freeze", NULL) : NULL;
  Py_XDECREF(r);
  Py_XDECREF(gc);
  PyErr_Clear();
  /* The only thread of the worker keeps the GIL: its nodes call Python directly. */
  hnpy_tls_holds_gil = 1;
  atomic_store(&hnpy_abort, 0);
}

int hnpy_fork_hooks_install(void) {
  static int done;
  if (done) return 0;
  int rc = pthread_key_create(&pin_key, unpin);
  if (rc == 0) rc = pthread_atfork(before_fork, after_fork_parent, after_fork_child);
  if (rc != 0) {
    PyErr_Format(PyExc_RuntimeError, "hypernodes_c: cannot install fork hooks (error %d)", rc);
    return -1;
  }
  done = 1;
  return 0;
}

/* ---- Ctrl-C --------------------------------------------------------------- */

static struct sigaction prev_int;
static unsigned long main_ident; /* threading.main_thread().ident, read at module init */

int hnpy_gil_init(void) {
  PyObject *threading = PyImport_ImportModule("threading");
  PyObject *t = threading ? PyObject_CallMethod(threading, "main_thread", NULL) : NULL;
  PyObject *ident = t ? PyObject_GetAttrString(t, "ident") : NULL;
  if (ident) main_ident = PyLong_AsUnsignedLong(ident);
  Py_XDECREF(ident);
  Py_XDECREF(t);
  Py_XDECREF(threading);
  return PyErr_Occurred() ? -1 : 0;
}

static void on_sigint(int sig) {
  atomic_store(&hnpy_abort, 1);
  if (prev_int.sa_handler != SIG_DFL && prev_int.sa_handler != SIG_IGN)
    prev_int.sa_handler(sig); /* Python's: trips the flag PyErr_CheckSignals reads */
}

/* Chain on_sigint in front of Python's handler; 1 when installed. Main thread only. */
static int sigint_install(void) {
  if (PyThread_get_thread_ident() != main_ident) return 0; /* Python handles signals there */
  struct sigaction cur;
  if (sigaction(SIGINT, NULL, &cur) != 0) return 0;
  if ((cur.sa_flags & SA_SIGINFO) || cur.sa_handler == SIG_DFL || cur.sa_handler == SIG_IGN ||
      cur.sa_handler == on_sigint)
    return 0;
  struct sigaction mine = cur;
  mine.sa_handler = on_sigint;
  prev_int = cur;
  return sigaction(SIGINT, &mine, NULL) == 0;
}

static void sigint_restore(void) {
  (void)sigaction(SIGINT, &prev_int, NULL);
}

void hnpy_stash_abort(PyObject *exc) {
  atomic_store(&hnpy_abort, 1);
  if (!stashed_abort) {
    Py_INCREF(exc);
    stashed_abort = exc;
  }
}

int hnpy_call_engine(hn_engine_kind kind, hn_status (*fn)(void *arg), void *arg, hn_status *st) {
  int saved = hnpy_tls_holds_gil;
  atomic_fetch_add(&hnpy_active_calls, 1);
  if (kind == HN_ENGINE_SEQUENTIAL) {
    hnpy_tls_holds_gil = 1;
    *st = fn(arg);
  } else {
    int hooked = sigint_install();
    hnpy_tls_holds_gil = 0;
    PyThreadState *ts = PyEval_SaveThread();
    *st = fn(arg);
    PyEval_RestoreThread(ts);
    if (hooked) sigint_restore();
  }
  hnpy_tls_holds_gil = saved;
  if (atomic_fetch_sub(&hnpy_active_calls, 1) == 1) atomic_store(&hnpy_abort, 0);
  if (stashed_abort) {
    PyObject *exc = stashed_abort;
    stashed_abort = NULL;
    PyErr_Restore(Py_NewRef(Py_TYPE(exc)), exc, PyException_GetTraceback(exc));
    return -1;
  }
  if (PyErr_CheckSignals() < 0) return -1;
  return 0;
}
