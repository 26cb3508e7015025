#include "guard.h"

#include <csignal>
#include <cstring>
#include <mutex>

namespace shm {
namespace {

struct sigaction g_previous;
std::once_flag g_once;

void OnBus(int sig, siginfo_t* info, void* ctx) {
  GuardFrame* frame = CurrentGuardFrame();
  if (frame != nullptr) {
    LastFaultAddress() = reinterpret_cast<uintptr_t>(info != nullptr ? info->si_addr : nullptr);
    siglongjmp(frame->env, 1);
  }
  // Not ours: behave as if we had never been installed.
  if (g_previous.sa_flags & SA_SIGINFO) {
    if (g_previous.sa_sigaction != nullptr) {
      g_previous.sa_sigaction(sig, info, ctx);
      return;
    }
  } else if (g_previous.sa_handler != SIG_DFL && g_previous.sa_handler != SIG_IGN &&
             g_previous.sa_handler != nullptr) {
    g_previous.sa_handler(sig);
    return;
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

}  // namespace

GuardFrame*& CurrentGuardFrame() {
  static thread_local GuardFrame* frame = nullptr;
  return frame;
}

uintptr_t& LastFaultAddress() {
  static thread_local uintptr_t addr = 0;
  return addr;
}

void InstallBusGuard() {
  std::call_once(g_once, [] {
    struct sigaction sa;
    std::memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = OnBus;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigaction(SIGBUS, &sa, &g_previous);
  });
}

}  // namespace shm
