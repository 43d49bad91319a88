// holdfast_sim: runs the deterministic simulation for one seed or a range, reports failures with
// the seed, the actions that ran and the last steps, and can shrink a failure to the fewest
// actions that still break the same invariant. Layer: tests (simulator).
//
//   holdfast_sim --seed 42                 one run, 2,000 steps
//   holdfast_sim --seeds 1..200 --steps 2000   what CI runs
//   holdfast_sim --seed 42 --trace         every step as it runs
//   holdfast_sim --seed 42 --shrink        the minimal set of actions, and the command keeping them
//   holdfast_sim --seed 42 --keep 3,17,40  only those actions (as printed by --shrink)
#include "world.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

using holdfast::sim::options;
using holdfast::sim::outcome;

void usage() {
    std::fprintf(stderr,
                 "usage: holdfast_sim [--seed N | --seeds A..B] [--steps K] [--trace] [--shrink] [--keep i,j,...]\n"
                 "                    [--max-failures M] [--quiet]\n");
}

std::string keep_list(const std::set<std::uint64_t>& keep) {
    std::string out;
    for (auto i : keep) out += (out.empty() ? "" : ",") + std::to_string(i);
    return out;
}

void print_failure(const outcome& r, const options& opts) {
    std::printf("\nFAIL seed %llu: invariant '%s' broken at step %llu (t=%llu ms)\n  %s\n",
                static_cast<unsigned long long>(r.seed), r.invariant.c_str(),
                static_cast<unsigned long long>(r.failed_step), static_cast<unsigned long long>(r.sim_ms),
                r.detail.c_str());
    std::printf("  world: %s\n  actions and notes:\n", r.shape.c_str());
    for (const auto& a : r.actions) std::printf("    %s\n", a.c_str());
    std::printf("  last steps:\n");
    for (const auto& s : r.recent) std::printf("    %s\n", s.c_str());
    std::printf("  reproduce: holdfast_sim --seed %llu --steps %llu%s%s\n", static_cast<unsigned long long>(r.seed),
                static_cast<unsigned long long>(opts.steps), opts.keep ? " --keep " : "",
                opts.keep ? keep_list(*opts.keep).c_str() : "");
}

/// Greedy one-at-a-time removal over the actions that ran: keeps a removal when the run still
/// breaks the same invariant. Deterministic, so the result reproduces with --keep.
options shrink(options opts, const outcome& first) {
    std::set<std::uint64_t> keep(first.performed.begin(), first.performed.end());
    opts.keep = keep;
    std::vector<std::uint64_t> order(keep.rbegin(), keep.rend());
    for (auto index : order) {
        auto trial = opts;
        trial.keep->erase(index);
        const outcome r = holdfast::sim::run(trial);
        if (!r.ok && r.invariant == first.invariant) opts = trial;
    }
    // A second pass often frees more once others are gone.
    std::vector<std::uint64_t> again(opts.keep->rbegin(), opts.keep->rend());
    for (auto index : again) {
        auto trial = opts;
        trial.keep->erase(index);
        const outcome r = holdfast::sim::run(trial);
        if (!r.ok && r.invariant == first.invariant) opts = trial;
    }
    return opts;
}

} // namespace

int main(int argc, char** argv) {
    options base;
    std::uint64_t first = 1, last = 1;
    bool do_shrink = false, quiet = false;
    std::uint64_t max_failures = 3;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        const auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                usage();
                std::exit(2);
            }
            return argv[++i];
        };
        if (arg == "--seed") {
            first = last = std::stoull(value());
        } else if (arg == "--seeds") {
            const std::string range = value();
            const auto dots = range.find("..");
            if (dots == std::string::npos) {
                usage();
                return 2;
            }
            first = std::stoull(range.substr(0, dots));
            last = std::stoull(range.substr(dots + 2));
        } else if (arg == "--steps") {
            base.steps = std::stoull(value());
        } else if (arg == "--trace") {
            base.trace = true;
        } else if (arg == "--shrink") {
            do_shrink = true;
        } else if (arg == "--quiet") {
            quiet = true;
        } else if (arg == "--max-failures") {
            max_failures = std::stoull(value());
        } else if (arg == "--keep") {
            std::set<std::uint64_t> keep;
            const std::string list = value();
            for (std::size_t start = 0; start < list.size();) {
                const auto comma = list.find(',', start);
                const std::string item = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
                if (!item.empty()) keep.insert(std::stoull(item));
                if (comma == std::string::npos) break;
                start = comma + 1;
            }
            base.keep = keep;
        } else {
            usage();
            return 2;
        }
    }

    const auto started = std::chrono::steady_clock::now();
    std::uint64_t runs = 0, failures = 0, steps = 0, sim_ms = 0;
    std::map<std::string, std::uint64_t> counts;
    for (std::uint64_t seed = first; seed <= last; ++seed) {
        options opts = base;
        opts.seed = seed;
        const outcome r = holdfast::sim::run(opts);
        ++runs;
        steps += r.steps;
        sim_ms += r.sim_ms;
        for (const auto& [k, v] : r.counts) counts[k] += v;
        if (r.ok) {
            if (!quiet && first == last) std::printf("seed %llu ok: %llu steps, %llu ms simulated; %s\n",
                                                     static_cast<unsigned long long>(seed),
                                                     static_cast<unsigned long long>(r.steps),
                                                     static_cast<unsigned long long>(r.sim_ms), r.shape.c_str());
            continue;
        }
        ++failures;
        if (failures <= max_failures) {
            print_failure(r, opts);
            if (do_shrink) {
                const options small = shrink(opts, r);
                std::printf("\nshrunk seed %llu to %zu of %zu actions:\n", static_cast<unsigned long long>(seed),
                            small.keep->size(), r.performed.size());
                print_failure(holdfast::sim::run(small), small);
            }
        } else if (failures == max_failures + 1) {
            std::printf("(further failures listed by seed only)\n");
        }
        if (failures > max_failures) {
            std::printf("FAIL seed %llu: %s: %s\n", static_cast<unsigned long long>(seed), r.invariant.c_str(),
                        r.detail.c_str());
        }
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::printf("\n%llu run(s), %llu failed; %llu steps in %.2f s (%.0f steps/s); %.1f simulated minutes\n",
                static_cast<unsigned long long>(runs), static_cast<unsigned long long>(failures),
                static_cast<unsigned long long>(steps), seconds, steps / std::max(seconds, 1e-9), sim_ms / 60'000.0);
    std::string mix;
    for (const auto& [k, v] : counts) mix += " " + k + "=" + std::to_string(v);
    std::printf("actions:%s\n", mix.c_str());
    return failures == 0 ? 0 : 1;
}
