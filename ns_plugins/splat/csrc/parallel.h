// Work splitting shared by the CPU kernels: OpenMP when compiled with -fopenmp (the default build),
// else std::threads pulling items from an atomic counter. Results never depend on the thread count:
// every item writes its own outputs, and reductions over items run in a fixed order.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>
#ifdef _OPENMP
#include <omp.h>
#endif

namespace ns {

// fn(thread_id, item) for item in [0, n_items), items handed out one at a time (dynamic schedule).
template <typename F>
void parallel_items(int64_t n_items, int n_threads, F fn) {
    n_threads = (int)std::max<int64_t>(1, std::min<int64_t>(n_threads, n_items));
    if (n_items <= 0) return;
#ifdef _OPENMP
    // with OpenMP the library binds to the libgomp torch already loaded: one thread pool, no
    // competition with torch's (spinning) workers
#pragma omp parallel for schedule(dynamic, 1) num_threads(n_threads)
    for (int64_t it = 0; it < n_items; ++it) fn(omp_get_thread_num(), it);
#else
    std::atomic<int64_t> next(0);
    auto worker = [&](int tid) {
        for (;;) {
            const int64_t it = next.fetch_add(1);
            if (it >= n_items) break;
            fn(tid, it);
        }
    };
    if (n_threads == 1) {
        worker(0);
        return;
    }
    std::vector<std::thread> pool;
    pool.reserve(n_threads - 1);
    for (int t = 1; t < n_threads; ++t) pool.emplace_back(worker, t);
    worker(0);
    for (auto &th : pool) th.join();
#endif
}

// fn(thread_id, begin, end) over [0, n) in fixed blocks of `block` items.
template <typename F>
void parallel_blocks(int64_t n, int64_t block, int n_threads, F fn) {
    const int64_t n_blocks = (n + block - 1) / block;
    parallel_items(n_blocks, n_threads, [&](int tid, int64_t b) {
        fn(tid, b * block, std::min(n, (b + 1) * block));
    });
}

}  // namespace ns
