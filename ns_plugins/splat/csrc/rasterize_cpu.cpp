// CPU tile rasterizer for 3D Gaussian splatting: forward and backward compositing.
//
// Same numerics as gsplat 1.4.0 (rasterize_to_pixels_fwd.cu / _bwd.cu): pixel centres at
// (x + 0.5, y + 0.5), sigma = 0.5 (a dx^2 + c dy^2) + b dx dy, alpha = min(0.999, o exp(-sigma)),
// Gaussians with sigma < 0 or alpha < 1/255 are skipped, and a pixel stops before the Gaussian
// that would bring its transmittance to <= 1e-4.
//
// Work is split over (camera, tile) pairs, dynamically scheduled: OpenMP when compiled with
// -fopenmp (the default build), else std::threads pulling tiles from an atomic counter.
// The backward pass writes gradients per intersection (each intersection belongs to exactly one
// tile, so there are no races); the caller reduces them per Gaussian with index_add.
//
// Compiled by ns_plugins/splat/build_kernels.py and called through ctypes.

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <thread>
#include <vector>
#ifdef _OPENMP
#include <omp.h>
#endif

namespace {

struct Grid {
    int64_t C, D, width, height, tile_size, tile_w, tile_h, n_isects;
};

// [start, end) range of intersections of tile `ct` (camera-major flattened tile index).
inline void tile_range(const Grid &g, const int32_t *offsets, int64_t ct, int64_t &s, int64_t &e) {
    const int64_t n_tiles = g.C * g.tile_w * g.tile_h;
    s = offsets[ct];
    e = (ct == n_tiles - 1) ? g.n_isects : offsets[ct + 1];
}

template <typename F>
void parallel_tiles(int64_t n_tiles, int n_threads, F fn) {
    n_threads = (int)std::max<int64_t>(1, std::min<int64_t>(n_threads, n_tiles));
#ifdef _OPENMP
    // with OpenMP the library binds to the libgomp torch already loaded: one thread pool, no
    // competition with torch's (spinning) workers
#pragma omp parallel for schedule(dynamic, 1) num_threads(n_threads)
    for (int64_t ct = 0; ct < n_tiles; ++ct) fn(omp_get_thread_num(), ct);
#else
    std::atomic<int64_t> next(0);
    auto worker = [&](int tid) {
        for (;;) {
            const int64_t ct = next.fetch_add(1);
            if (ct >= n_tiles) break;
            fn(tid, ct);
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

// Per-tile copy of the Gaussians' 2D parameters in compositing order (structure of arrays).
template <typename T>
struct TileCache {
    std::vector<T> x, y, a, b, c, o, skip;
    std::vector<int32_t> gid;
    void load(const int32_t *flatten_ids, int64_t s, int64_t e, const T *means2d, const T *conics,
              const T *opacities) {
        const int64_t n = e - s;
        x.resize(n); y.resize(n); a.resize(n); b.resize(n); c.resize(n); o.resize(n);
        skip.resize(n); gid.resize(n);
        for (int64_t k = 0; k < n; ++k) {
            const int32_t g = flatten_ids[s + k];
            gid[k] = g;
            x[k] = means2d[2 * g];
            y[k] = means2d[2 * g + 1];
            a[k] = conics[3 * g];
            b[k] = conics[3 * g + 1];
            c[k] = conics[3 * g + 2];
            o[k] = opacities[g];
            // sigma above this bound gives alpha < 1/255 for sure: skip the exp (with margin so the
            // shortcut never disagrees with the exact test below).
            if (o[k] > T(0)) {
                const T L = std::log(T(255) * o[k]);
                skip[k] = L + std::abs(L) * T(1e-3) + T(1e-3);
            } else {
                skip[k] = T(-1);  // alpha is 0: always skipped
            }
        }
    }
};

template <typename T>
void fwd_impl(const Grid g, const T *means2d, const T *conics, const T *colors, const T *opacities,
              const T *backgrounds, const int32_t *offsets, const int32_t *flatten_ids,
              T *out_colors, T *out_alphas, int32_t *last_ids, int n_threads) {
    const int64_t tiles_per_cam = g.tile_w * g.tile_h;
    const int64_t D = g.D;
    std::vector<TileCache<T>> caches(std::max(1, n_threads));
    std::vector<std::vector<T>> accs(std::max(1, n_threads), std::vector<T>(D));
    const T alpha_max = T(0.999), alpha_min = T(1) / T(255);
    parallel_tiles(g.C * tiles_per_cam, n_threads, [&](int tid, int64_t ct) {
        const int64_t cam = ct / tiles_per_cam, t = ct % tiles_per_cam;
        const int64_t ty = t / g.tile_w, tx = t % g.tile_w;
        int64_t s, e;
        tile_range(g, offsets, ct, s, e);
        TileCache<T> &tc = caches[tid];
        tc.load(flatten_ids, s, e, means2d, conics, opacities);
        const int64_t n = e - s;
        T *acc = accs[tid].data();
        const T *bg = backgrounds ? backgrounds + cam * D : nullptr;
        const int64_t y0 = ty * g.tile_size, x0 = tx * g.tile_size;
        const int64_t y1 = std::min(y0 + g.tile_size, g.height), x1 = std::min(x0 + g.tile_size, g.width);
        for (int64_t i = y0; i < y1; ++i) {
            for (int64_t j = x0; j < x1; ++j) {
                const T px = (T)j + T(0.5), py = (T)i + T(0.5);
                const int64_t pix = (cam * g.height + i) * g.width + j;
                T Tr = T(1);
                int64_t last = s;  // one past the last composited intersection
                std::fill(acc, acc + D, T(0));
                for (int64_t k = 0; k < n; ++k) {
                    const T dx = tc.x[k] - px, dy = tc.y[k] - py;
                    const T sigma = T(0.5) * (tc.a[k] * dx * dx + tc.c[k] * dy * dy) + tc.b[k] * dx * dy;
                    if (sigma < T(0) || sigma > tc.skip[k]) continue;
                    const T alpha = std::min(alpha_max, tc.o[k] * std::exp(-sigma));
                    if (alpha < alpha_min) continue;
                    const T next_T = Tr * (T(1) - alpha);
                    if ((double)next_T <= 1e-4) break;  // this pixel is done (exclusive)
                    const T vis = alpha * Tr;
                    const T *col = colors + (int64_t)tc.gid[k] * D;
                    for (int64_t d = 0; d < D; ++d) acc[d] += col[d] * vis;
                    last = s + k + 1;
                    Tr = next_T;
                }
                out_alphas[pix] = T(1) - Tr;
                T *out = out_colors + pix * D;
                for (int64_t d = 0; d < D; ++d) out[d] = bg ? acc[d] + Tr * bg[d] : acc[d];
                last_ids[pix] = (int32_t)last;
            }
        }
    });
}

template <typename T>
void bwd_impl(const Grid g, const T *means2d, const T *conics, const T *colors, const T *opacities,
              const T *backgrounds, const int32_t *offsets, const int32_t *flatten_ids,
              const T *render_alphas, const int32_t *last_ids, const T *v_render_colors,
              const T *v_render_alphas,
              // per-intersection gradient outputs (zero-initialised by the caller)
              T *v_xy, T *v_xy_abs, T *v_conic, T *v_col, T *v_op, int n_threads) {
    const int64_t tiles_per_cam = g.tile_w * g.tile_h;
    const int64_t D = g.D;
    std::vector<TileCache<T>> caches(std::max(1, n_threads));
    std::vector<std::vector<T>> bufs(std::max(1, n_threads), std::vector<T>(D));
    const T alpha_max = T(0.999), alpha_min = T(1) / T(255);
    parallel_tiles(g.C * tiles_per_cam, n_threads, [&](int tid, int64_t ct) {
        const int64_t cam = ct / tiles_per_cam, t = ct % tiles_per_cam;
        const int64_t ty = t / g.tile_w, tx = t % g.tile_w;
        int64_t s, e;
        tile_range(g, offsets, ct, s, e);
        if (e <= s) return;
        TileCache<T> &tc = caches[tid];
        tc.load(flatten_ids, s, e, means2d, conics, opacities);
        T *buf = bufs[tid].data();
        const T *bg = backgrounds ? backgrounds + cam * D : nullptr;
        const int64_t y0 = ty * g.tile_size, x0 = tx * g.tile_size;
        const int64_t y1 = std::min(y0 + g.tile_size, g.height), x1 = std::min(x0 + g.tile_size, g.width);
        for (int64_t i = y0; i < y1; ++i) {
            for (int64_t j = x0; j < x1; ++j) {
                const T px = (T)j + T(0.5), py = (T)i + T(0.5);
                const int64_t pix = (cam * g.height + i) * g.width + j;
                const T T_final = T(1) - render_alphas[pix];
                T Tr = T_final;
                std::fill(buf, buf + D, T(0));
                const T *vc = v_render_colors + pix * D;
                const T va = v_render_alphas[pix];
                T bg_dot = T(0);
                if (bg)
                    for (int64_t d = 0; d < D; ++d) bg_dot += bg[d] * vc[d];
                // walk back to front over what the forward pass composited
                for (int64_t k = (int64_t)last_ids[pix] - 1 - s; k >= 0; --k) {
                    const T dx = tc.x[k] - px, dy = tc.y[k] - py;
                    const T sigma = T(0.5) * (tc.a[k] * dx * dx + tc.c[k] * dy * dy) + tc.b[k] * dx * dy;
                    if (sigma < T(0) || sigma > tc.skip[k]) continue;
                    const T vis = std::exp(-sigma);
                    const T alpha = std::min(alpha_max, tc.o[k] * vis);
                    if (alpha < alpha_min) continue;
                    const T ra = T(1) / (T(1) - alpha);
                    Tr *= ra;  // transmittance in front of this Gaussian
                    const T fac = alpha * Tr;
                    const int64_t isect = s + k;
                    const T *col = colors + (int64_t)tc.gid[k] * D;
                    T *vcol = v_col + isect * D;
                    T v_alpha = T(0);
                    for (int64_t d = 0; d < D; ++d) {
                        vcol[d] += fac * vc[d];
                        v_alpha += (col[d] * Tr - buf[d] * ra) * vc[d];
                    }
                    v_alpha += T_final * ra * va;
                    if (bg) v_alpha -= T_final * ra * bg_dot;
                    if (tc.o[k] * vis <= alpha_max) {  // no gradient through the 0.999 clamp
                        const T v_sigma = -tc.o[k] * vis * v_alpha;
                        v_conic[3 * isect] += T(0.5) * v_sigma * dx * dx;
                        v_conic[3 * isect + 1] += v_sigma * dx * dy;
                        v_conic[3 * isect + 2] += T(0.5) * v_sigma * dy * dy;
                        const T gx = v_sigma * (tc.a[k] * dx + tc.b[k] * dy);
                        const T gy = v_sigma * (tc.b[k] * dx + tc.c[k] * dy);
                        v_xy[2 * isect] += gx;
                        v_xy[2 * isect + 1] += gy;
                        if (v_xy_abs) {
                            v_xy_abs[2 * isect] += std::abs(gx);
                            v_xy_abs[2 * isect + 1] += std::abs(gy);
                        }
                        v_op[isect] += vis * v_alpha;
                    }
                    for (int64_t d = 0; d < D; ++d) buf[d] += col[d] * fac;
                }
            }
        }
    });
}

}  // namespace

#define NS_FWD(NAME, T)                                                                             \
    extern "C" int NAME(int64_t C, int64_t D, int64_t width, int64_t height, int64_t tile_size,    \
                        int64_t tile_w, int64_t tile_h, int64_t n_isects, const T *means2d,        \
                        const T *conics, const T *colors, const T *opacities, const T *backgrounds, \
                        const int32_t *offsets, const int32_t *flatten_ids, T *out_colors,         \
                        T *out_alphas, int32_t *last_ids, int n_threads) {                         \
        Grid g{C, D, width, height, tile_size, tile_w, tile_h, n_isects};                          \
        fwd_impl<T>(g, means2d, conics, colors, opacities, backgrounds, offsets, flatten_ids,      \
                    out_colors, out_alphas, last_ids, n_threads);                                  \
        return 0;                                                                                  \
    }

#define NS_BWD(NAME, T)                                                                              \
    extern "C" int NAME(int64_t C, int64_t D, int64_t width, int64_t height, int64_t tile_size,     \
                        int64_t tile_w, int64_t tile_h, int64_t n_isects, const T *means2d,         \
                        const T *conics, const T *colors, const T *opacities, const T *backgrounds,  \
                        const int32_t *offsets, const int32_t *flatten_ids, const T *render_alphas, \
                        const int32_t *last_ids, const T *v_render_colors,                          \
                        const T *v_render_alphas, T *v_xy, T *v_xy_abs, T *v_conic, T *v_col,       \
                        T *v_op, int n_threads) {                                                   \
        Grid g{C, D, width, height, tile_size, tile_w, tile_h, n_isects};                           \
        bwd_impl<T>(g, means2d, conics, colors, opacities, backgrounds, offsets, flatten_ids,       \
                    render_alphas, last_ids, v_render_colors, v_render_alphas, v_xy, v_xy_abs,      \
                    v_conic, v_col, v_op, n_threads);                                               \
        return 0;                                                                                   \
    }

NS_FWD(ns_rasterize_fwd_f32, float)
NS_FWD(ns_rasterize_fwd_f64, double)
NS_BWD(ns_rasterize_bwd_f32, float)
NS_BWD(ns_rasterize_bwd_f64, double)

extern "C" int ns_rasterize_abi_version() { return 1; }
