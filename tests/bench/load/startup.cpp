// Start-up time of a daemon (issue 8 item 3, SPEC §13 "exec to READY=1 under 50 ms"):
// runs the command with NOTIFY_SOCKET pointing at a datagram socket of ours and its stderr
// on a pipe, and reports the milliseconds from just before exec to READY=1 (null if the
// daemon never sends it) and to the first stderr line containing each --line text. Stops
// the daemon with SIGTERM once everything was seen or after --timeout seconds.
// usage: startup [--line TEXT]... [--timeout S] -- COMMAND [ARG]...
// Prints one JSON line: {"ready_ms":..,"lines":{"TEXT":ms|null,...},"exit":..}
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace {

double ms_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

std::string json(const std::optional<double>& v) {
    if (!v) return "null";
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.2f", *v);
    return buf;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> texts;
    double timeout_s = 10;
    int i = 1;
    for (; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--") {
            ++i;
            break;
        }
        if (a == "--line" && i + 1 < argc) {
            texts.push_back(argv[++i]);
        } else if (a == "--timeout" && i + 1 < argc) {
            timeout_s = std::stod(argv[++i]);
        } else {
            std::fprintf(stderr, "usage: startup [--line TEXT]... [--timeout S] -- COMMAND...\n");
            return 2;
        }
    }
    if (i >= argc) {
        std::fprintf(stderr, "startup: no command\n");
        return 2;
    }
    const std::string sock_path =
        "/tmp/errbridge-bench-notify-" + std::to_string(::getpid()) + ".sock";
    int notify = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, sock_path.c_str(), sizeof(addr.sun_path) - 1);
    ::unlink(sock_path.c_str());
    if (::bind(notify, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        std::perror("startup: bind");
        return 1;
    }
    int pipefd[2];
    if (::pipe2(pipefd, O_CLOEXEC) != 0) return 1;
    ::setenv("NOTIFY_SOCKET", sock_path.c_str(), 1);
    const auto t0 = std::chrono::steady_clock::now();
    pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(pipefd[1], 2);
        ::execvp(argv[i], argv + i);
        ::_exit(127);
    }
    ::close(pipefd[1]);
    std::optional<double> ready;
    std::map<std::string, std::optional<double>> seen;
    for (const auto& t : texts)
        seen[t];
    std::string buffer;
    bool open = true;
    auto all_seen = [&] {
        if (!ready) return false;
        for (const auto& [t, v] : seen)
            if (!v) return false;
        return true;
    };
    while (ms_since(t0) < timeout_s * 1000 && !all_seen()) {
        pollfd fds[2] = {{notify, POLLIN, 0}, {open ? pipefd[0] : -1, POLLIN, 0}};
        if (::poll(fds, 2, 20) < 0) break;
        if (fds[0].revents & POLLIN) {
            char msg[4096];
            auto n = ::recv(notify, msg, sizeof(msg) - 1, 0);
            if (n > 0) {
                msg[n] = 0;
                if (!ready && std::strstr(msg, "READY=1")) ready = ms_since(t0);
            }
        }
        if (fds[1].revents & (POLLIN | POLLHUP)) {
            char chunk[4096];
            auto n = ::read(pipefd[0], chunk, sizeof(chunk));
            if (n <= 0) {
                open = false;
            } else {
                const double now = ms_since(t0);
                buffer.append(chunk, static_cast<std::size_t>(n));
                for (auto& [t, v] : seen)
                    if (!v && buffer.find(t) != std::string::npos) v = now;
            }
        }
        // Without READY=1 support, stop once every line was seen and 200 ms passed.
        bool lines_done = true;
        for (const auto& [t, v] : seen)
            lines_done = lines_done && v.has_value();
        if (!ready && lines_done && !texts.empty() && ms_since(t0) > 200) break;
    }
    ::kill(pid, SIGTERM);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ::unlink(sock_path.c_str());
    std::string out = "{\"ready_ms\":" + json(ready) + ",\"lines\":{";
    bool first = true;
    for (const auto& [t, v] : seen) {
        out += (first ? "\"" : ",\"") + t + "\":" + json(v);
        first = false;
    }
    out += "},\"exit\":" +
           std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status)) + "}\n";
    std::fputs(out.c_str(), stdout);
    return 0;
}
