// CPU tile rasterizer for 3D Gaussian splatting: forward and backward compositing.
//
// Same numerics as gsplat 1.4.0 (rasterize_to_pixels_fwd.cu / _bwd.cu): pixel centres at
// (x + 0.5, y + 0.5), sigma = 0.5 (a dx^2 + c dy^2) + b dx dy, alpha = min(0.999, o exp(-sigma)),
// Gaussians with sigma < 0 or alpha < 1/255 are skipped, and a pixel stops before the Gaussian
// that would bring its transmittance to <= 1e-4.
//
// Work is split over (camera, tile) pairs (parallel.h). Within a tile the loop runs over its
// Gaussians front to back (back to front in the backward pass) and, for each, over the pixel rows
// of the ellipse where its alpha can reach 1/255: sigma for a row is computed in a branch-free,
// vectorisable loop, then the few pixels that pass are blended. The per-pixel order of operations is
// the one a per-pixel loop would do, so results do not depend on this layout. The backward pass
// accumulates each (tile, Gaussian) intersection's gradient once and reduces them per Gaussian in
// intersection order (the same result for any thread count).
//
// Compiled by ns_plugins/splat/build_kernels.py and called through ctypes.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "parallel.h"

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

// exp for the compositing loops. float: Cephes' expf (range reduction by ln 2, degree-6 polynomial,
// within 2 ulp of expf), written branch-free so a row of pixels evaluates in SIMD lanes; double: libm.
inline float fast_exp(float x) {
    x = x < -87.0f ? -87.0f : x;
    const float t = x * 1.44269504088896341f + 12582912.0f;  // round to nearest via 1.5 * 2^23
    const float n = t - 12582912.0f;
    const int32_t ni = __builtin_bit_cast(int32_t, t) - 0x4B400000;
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    return p * __builtin_bit_cast(float, (ni + 127) << 23);
}
inline double fast_exp(double x) { return std::exp(x); }

// One Gaussian as a tile sees it, and the pixel box (tile-local, inclusive) where it can matter.
template <typename T>
struct Splat {
    T x, y, a, b, c, o, skip;
    int64_t i0, i1, j0, j1;  // rows, columns
    // false when the Gaussian cannot reach alpha >= 1/255 anywhere
    bool load(int32_t gid, const T *means2d, const T *conics, const T *opacities, int64_t x0, int64_t y0,
              int64_t tw, int64_t th) {
        x = means2d[2 * gid], y = means2d[2 * gid + 1];
        a = conics[3 * gid], b = conics[3 * gid + 1], c = conics[3 * gid + 2];
        o = opacities[gid];
        if (!(o > T(0))) return false;
        // sigma above this bound gives alpha < 1/255 for sure: skip the exp (with margin so the
        // shortcut never disagrees with the exact test)
        const T L = std::log(T(255) * o);
        skip = L + std::abs(L) * T(1e-3) + T(1e-3);
        if (skip < T(0)) return false;
        i0 = 0, i1 = th - 1, j0 = 0, j1 = tw - 1;
        const T det = a * c - b * b;
        if (a > T(0) && c > T(0) && det > T(0)) {
            // the ellipse 0.5 d^T A d <= skip spans |dx| <= sqrt(2 skip c / det), |dy| <= sqrt(2 skip a / det);
            // one pixel of margin for rounding
            const T ex = std::sqrt(T(2) * skip * c / det) + T(1), ey = std::sqrt(T(2) * skip * a / det) + T(1);
            const T lx = x - ex - T(0.5) - (T)x0, hx = x + ex - T(0.5) - (T)x0;
            const T ly = y - ey - T(0.5) - (T)y0, hy = y + ey - T(0.5) - (T)y0;
            if (!(hx >= T(0) && lx <= (T)(tw - 1) && hy >= T(0) && ly <= (T)(th - 1))) return false;
            j0 = std::max<int64_t>(0, (int64_t)std::floor(lx)), j1 = std::min<int64_t>(tw - 1, (int64_t)std::ceil(hx));
            i0 = std::max<int64_t>(0, (int64_t)std::floor(ly)), i1 = std::min<int64_t>(th - 1, (int64_t)std::ceil(hy));
        }
        return true;
    }
    // sigma and exp(-sigma) at pixel columns j0..j1 of tile-local row i (branch-free: the compiler
    // vectorises it)
    inline void row_sigma(int64_t i, int64_t x0, int64_t y0, T *sig, T *ex) const {
        // the exact expression (and rounding) of a per-pixel evaluation
        const T dy = y - ((T)(y0 + i) + T(0.5));
        const T cdy2 = c * dy * dy;
        const int n = (int)(j1 - j0 + 1);
        const T px0 = (T)(x0 + j0) + T(0.5);  // px0 + j is exact: small integers and halves
        for (int j = 0; j < n; ++j) {
            const T dx = x - (px0 + (T)j);
            sig[j] = T(0.5) * (a * dx * dx + cdy2) + b * dx * dy;
        }
        for (int j = 0; j < n; ++j) ex[j] = fast_exp(-sig[j]);
    }
};

template <typename T>
struct FwdScratch {
    std::vector<T> Tr, acc, sig, ex;
    std::vector<int32_t> last;
    std::vector<uint8_t> done;
};

// DC > 0: the channel count known at compile time (3: RGB, 4: RGB + depth), so the channel loops unroll
template <typename T, int DC>
void fwd_impl(const Grid g, const T *means2d, const T *conics, const T *colors, const T *opacities,
              const T *backgrounds, const int32_t *offsets, const int32_t *flatten_ids,
              T *out_colors, T *out_alphas, int32_t *last_ids, int n_threads) {
    const int64_t tiles_per_cam = g.tile_w * g.tile_h;
    const int64_t D = DC > 0 ? DC : g.D, ts = g.tile_size, P = ts * ts;
    std::vector<FwdScratch<T>> scratch(std::max(1, n_threads));
    const T alpha_max = T(0.999), alpha_min = T(1) / T(255);
    ns::parallel_items(g.C * tiles_per_cam, n_threads, [&](int tid, int64_t ct) {
        const int64_t cam = ct / tiles_per_cam, t = ct % tiles_per_cam;
        const int64_t y0 = (t / g.tile_w) * ts, x0 = (t % g.tile_w) * ts;
        const int64_t th = std::min(ts, g.height - y0), tw = std::min(ts, g.width - x0);
        int64_t s, e;
        tile_range(g, offsets, ct, s, e);
        FwdScratch<T> &sc = scratch[tid];
        sc.Tr.assign(P, T(1));
        sc.acc.assign(P * D, T(0));
        sc.sig.resize(ts);
        sc.ex.resize(ts);
        sc.last.assign(P, (int32_t)s);
        sc.done.assign(P, 0);
        T *Tr = sc.Tr.data(), *acc = sc.acc.data(), *sig = sc.sig.data(), *ex = sc.ex.data();
        int32_t *last = sc.last.data();
        uint8_t *done = sc.done.data();
        int64_t active = th * tw;
        Splat<T> sp;
        for (int64_t k = s; k < e && active > 0; ++k) {
            const int32_t gid = flatten_ids[k];
            if (!sp.load(gid, means2d, conics, opacities, x0, y0, tw, th)) continue;
            const T *col = colors + (int64_t)gid * D;
            for (int64_t i = sp.i0; i <= sp.i1; ++i) {
                sp.row_sigma(i, x0, y0, sig, ex);
                for (int64_t j = sp.j0; j <= sp.j1; ++j) {
                    const T sigma = sig[j - sp.j0];
                    if (sigma < T(0) || sigma > sp.skip) continue;
                    const int64_t p = i * ts + j;
                    if (done[p]) continue;
                    const T alpha = std::min(alpha_max, sp.o * ex[j - sp.j0]);
                    if (alpha < alpha_min) continue;
                    const T next_T = Tr[p] * (T(1) - alpha);
                    if ((double)next_T <= 1e-4) {  // this pixel is done (exclusive)
                        done[p] = 1;
                        --active;
                        continue;
                    }
                    const T vis = alpha * Tr[p];
                    T *ac = acc + p * D;
                    for (int64_t d = 0; d < D; ++d) ac[d] += col[d] * vis;
                    last[p] = (int32_t)(k + 1);
                    Tr[p] = next_T;
                }
            }
        }
        const T *bg = backgrounds ? backgrounds + cam * D : nullptr;
        for (int64_t i = 0; i < th; ++i) {
            for (int64_t j = 0; j < tw; ++j) {
                const int64_t p = i * ts + j;
                const int64_t pix = (cam * g.height + y0 + i) * g.width + x0 + j;
                out_alphas[pix] = T(1) - Tr[p];
                T *out = out_colors + pix * D;
                const T *ac = acc + p * D;
                for (int64_t d = 0; d < D; ++d) out[d] = bg ? ac[d] + Tr[p] * bg[d] : ac[d];
                last_ids[pix] = last[p];
            }
        }
    });
}

template <typename T>
struct BwdScratch {
    std::vector<T> Tr, T_final, buf, vc, va, bg_dot, sig, ex, v_col;
    std::vector<int32_t> last;
};

// Per-intersection gradient record: xy (2), conic (3), opacity (1), |xy| (2), colour (D).
constexpr int64_t kRec = 8;

template <typename T, int DC>
void bwd_impl(const Grid g, const T *means2d, const T *conics, const T *colors, const T *opacities,
              const T *backgrounds, const int32_t *offsets, const int32_t *flatten_ids,
              const T *render_alphas, const int32_t *last_ids, const T *v_render_colors,
              const T *v_render_alphas,
              // per-Gaussian gradient outputs [C*N, ...] (zero-initialised by the caller)
              T *v_means2d, T *v_means2d_abs, T *v_conics, T *v_colors, T *v_opacities, int n_threads) {
    const int64_t tiles_per_cam = g.tile_w * g.tile_h;
    const int64_t D = DC > 0 ? DC : g.D, ts = g.tile_size, P = ts * ts, R = kRec + D;
    // records are written only for intersections some pixel composited (flagged); no zero fill
    std::unique_ptr<T[]> rec(new T[std::max<int64_t>(1, g.n_isects * R)]);
    std::vector<uint8_t> written(g.n_isects, 0);
    std::vector<BwdScratch<T>> scratch(std::max(1, n_threads));
    const T alpha_max = T(0.999), alpha_min = T(1) / T(255);
    ns::parallel_items(g.C * tiles_per_cam, n_threads, [&](int tid, int64_t ct) {
        const int64_t cam = ct / tiles_per_cam, t = ct % tiles_per_cam;
        const int64_t y0 = (t / g.tile_w) * ts, x0 = (t % g.tile_w) * ts;
        const int64_t th = std::min(ts, g.height - y0), tw = std::min(ts, g.width - x0);
        int64_t s, e;
        tile_range(g, offsets, ct, s, e);
        if (e <= s) return;
        BwdScratch<T> &sc = scratch[tid];
        sc.Tr.assign(P, T(0));
        sc.T_final.assign(P, T(0));
        sc.buf.assign(P * D, T(0));
        sc.vc.assign(P * D, T(0));
        sc.va.assign(P, T(0));
        sc.bg_dot.assign(P, T(0));
        sc.sig.resize(ts);
        sc.ex.resize(ts);
        sc.v_col.resize(D);
        sc.last.assign(P, (int32_t)s);  // pixels outside the image composite nothing
        const T *bg = backgrounds ? backgrounds + cam * D : nullptr;
        int64_t max_last = s;
        for (int64_t i = 0; i < th; ++i) {
            for (int64_t j = 0; j < tw; ++j) {
                const int64_t p = i * ts + j;
                const int64_t pix = (cam * g.height + y0 + i) * g.width + x0 + j;
                sc.T_final[p] = sc.Tr[p] = T(1) - render_alphas[pix];
                const T *v = v_render_colors + pix * D;
                T dot = T(0);
                for (int64_t d = 0; d < D; ++d) {
                    sc.vc[p * D + d] = v[d];
                    if (bg) dot += bg[d] * v[d];
                }
                sc.bg_dot[p] = dot;
                sc.va[p] = v_render_alphas[pix];
                sc.last[p] = last_ids[pix];
                max_last = std::max<int64_t>(max_last, last_ids[pix]);
            }
        }
        T *Tr = sc.Tr.data(), *T_final = sc.T_final.data(), *buf = sc.buf.data(), *vcs = sc.vc.data();
        T *sig = sc.sig.data(), *ex = sc.ex.data(), *v_col = sc.v_col.data();
        const int32_t *last = sc.last.data();
        Splat<T> sp;
        // back to front over what the forward pass composited
        for (int64_t k = max_last - 1; k >= s; --k) {
            const int32_t gid = flatten_ids[k];
            if (!sp.load(gid, means2d, conics, opacities, x0, y0, tw, th)) continue;
            const T *col = colors + (int64_t)gid * D;
            T gx = 0, gy = 0, gax = 0, gay = 0, gc0 = 0, gc1 = 0, gc2 = 0, gop = 0;
            std::fill(v_col, v_col + D, T(0));
            bool touched = false;
            for (int64_t i = sp.i0; i <= sp.i1; ++i) {
                sp.row_sigma(i, x0, y0, sig, ex);
                const T dy = sp.y - ((T)(y0 + i) + T(0.5));
                for (int64_t j = sp.j0; j <= sp.j1; ++j) {
                    const T sigma = sig[j - sp.j0];
                    if (sigma < T(0) || sigma > sp.skip) continue;
                    const int64_t p = i * ts + j;
                    if (k >= last[p]) continue;
                    const T vis = ex[j - sp.j0];
                    const T alpha = std::min(alpha_max, sp.o * vis);
                    if (alpha < alpha_min) continue;
                    touched = true;
                    const T ra = T(1) / (T(1) - alpha);
                    Tr[p] *= ra;  // transmittance in front of this Gaussian
                    const T fac = alpha * Tr[p];
                    const T *vc = vcs + p * D;
                    T *bu = buf + p * D;
                    T v_alpha = T(0);
                    for (int64_t d = 0; d < D; ++d) {
                        v_col[d] += fac * vc[d];
                        v_alpha += (col[d] * Tr[p] - bu[d] * ra) * vc[d];
                    }
                    v_alpha += T_final[p] * ra * sc.va[p];
                    if (bg) v_alpha -= T_final[p] * ra * sc.bg_dot[p];
                    if (sp.o * vis <= alpha_max) {  // no gradient through the 0.999 clamp
                        const T dx = sp.x - ((T)(x0 + j) + T(0.5));
                        const T v_sigma = -sp.o * vis * v_alpha;
                        gc0 += T(0.5) * v_sigma * dx * dx;
                        gc1 += v_sigma * dx * dy;
                        gc2 += T(0.5) * v_sigma * dy * dy;
                        const T vx = v_sigma * (sp.a * dx + sp.b * dy);
                        const T vy = v_sigma * (sp.b * dx + sp.c * dy);
                        gx += vx, gy += vy;
                        gax += std::abs(vx), gay += std::abs(vy);
                        gop += vis * v_alpha;
                    }
                    for (int64_t d = 0; d < D; ++d) bu[d] += col[d] * fac;
                }
            }
            if (!touched) continue;
            written[k] = 1;
            T *r = rec.get() + k * R;
            r[0] = gx, r[1] = gy, r[2] = gc0, r[3] = gc1, r[4] = gc2, r[5] = gop, r[6] = gax, r[7] = gay;
            for (int64_t d = 0; d < D; ++d) r[kRec + d] = v_col[d];
        }
    });
    // per Gaussian, in intersection order
    for (int64_t k = 0; k < g.n_isects; ++k) {
        if (!written[k]) continue;
        const int64_t gid = flatten_ids[k];
        const T *r = rec.get() + k * R;
        v_means2d[2 * gid] += r[0], v_means2d[2 * gid + 1] += r[1];
        v_conics[3 * gid] += r[2], v_conics[3 * gid + 1] += r[3], v_conics[3 * gid + 2] += r[4];
        v_opacities[gid] += r[5];
        if (v_means2d_abs) v_means2d_abs[2 * gid] += r[6], v_means2d_abs[2 * gid + 1] += r[7];
        T *vcol = v_colors + gid * D;
        for (int64_t d = 0; d < D; ++d) vcol[d] += r[kRec + d];
    }
}

}  // namespace

#define NS_FWD(NAME, T)                                                                             \
    extern "C" int NAME(int64_t C, int64_t D, int64_t width, int64_t height, int64_t tile_size,    \
                        int64_t tile_w, int64_t tile_h, int64_t n_isects, const T *means2d,        \
                        const T *conics, const T *colors, const T *opacities, const T *backgrounds, \
                        const int32_t *offsets, const int32_t *flatten_ids, T *out_colors,         \
                        T *out_alphas, int32_t *last_ids, int n_threads) {                         \
        Grid g{C, D, width, height, tile_size, tile_w, tile_h, n_isects};                          \
        auto fn = D == 3 ? fwd_impl<T, 3> : D == 4 ? fwd_impl<T, 4> : fwd_impl<T, 0>;              \
        fn(g, means2d, conics, colors, opacities, backgrounds, offsets, flatten_ids, out_colors,  \
           out_alphas, last_ids, n_threads);                                                      \
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
        auto fn = D == 3 ? bwd_impl<T, 3> : D == 4 ? bwd_impl<T, 4> : bwd_impl<T, 0>;               \
        fn(g, means2d, conics, colors, opacities, backgrounds, offsets, flatten_ids, render_alphas, \
           last_ids, v_render_colors, v_render_alphas, v_xy, v_xy_abs, v_conic, v_col, v_op,       \
           n_threads);                                                                             \
        return 0;                                                                                   \
    }

NS_FWD(ns_rasterize_fwd_f32, float)
NS_FWD(ns_rasterize_fwd_f64, double)
NS_BWD(ns_rasterize_bwd_f32, float)
NS_BWD(ns_rasterize_bwd_f64, double)

extern "C" int ns_rasterize_abi_version() { return 2; }
