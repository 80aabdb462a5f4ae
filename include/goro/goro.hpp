// The umbrella header: everything goro offers.
#pragma once

#include <goro/after.hpp>
#include <goro/blocking.hpp>
#include <goro/chan.hpp>
#include <goro/cond.hpp>
#include <goro/config.hpp>
#include <goro/context.hpp>
#include <goro/errc.hpp>
#include <goro/fs.hpp>
#include <goro/go.hpp>
#include <goro/group.hpp>
#include <goro/mutex.hpp>
#include <goro/once.hpp>
#include <goro/panic.hpp>
#include <goro/result.hpp>
#include <goro/runtime.hpp>
#include <goro/rw_mutex.hpp>
#include <goro/select.hpp>
#include <goro/semaphore.hpp>
#include <goro/sleep.hpp>
#include <goro/task.hpp>
#include <goro/ticker.hpp>
#include <goro/timer.hpp>
#include <goro/version.hpp>
#include <goro/wait_group.hpp>
#include <goro/yield.hpp>
