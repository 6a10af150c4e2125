#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Mixture-of-experts routing (router, gather, scatter) and fast feed-forward (FFF,
/// Belcak and Wattenhofer 2023) tree descent and leaf MLPs. An expert's own MLP is plain
/// `BLAS.sgemm` on the rows `gatherRows` collected; the caller runs it.
public enum RoutingKernels {
    // MARK: Mixture of experts

    /// Router: logits = x·weight, then per token the top-k experts by logit and their
    /// softmax probabilities renormalised over the chosen k (equal to the softmax of the
    /// chosen logits, so the full softmax is never materialised).
    ///
    /// Layouts: x [tokens, dIn]; weight [dIn, experts]; logits [tokens, experts] (raw logits
    /// on return); indices and weights [tokens, topK], best first. Ties go to the lower
    /// expert index, so the choice is deterministic. If topK > experts the extra slots get
    /// index -1 and weight 0.
    ///
    /// FLOPs: 2·tokens·dIn·experts (the GEMM; selection is O(tokens·experts·topK) compares).
    public static func router(
        x: UnsafePointer<Float>, weight: UnsafePointer<Float>, logits: UnsafeMutablePointer<Float>,
        tokens: Int, dIn: Int, experts: Int, topK: Int,
        indices: UnsafeMutablePointer<Int>, weights: UnsafeMutablePointer<Float>
    ) {
        guard tokens > 0, experts > 0, topK > 0 else { return }
        BLAS.sgemm(m: tokens, n: experts, k: max(dIn, 0), a: x, b: weight, c: logits)
        let chosen = min(topK, experts)
        for token in 0..<tokens {
            let row = logits + token * experts
            let slotIndices = indices + token * topK
            let slotWeights = weights + token * topK
            // Insertion into a descending list; a later (higher-index) expert only displaces
            // a strictly smaller logit, which keeps ties in index order.
            var filled = 0
            for expert in 0..<experts {
                let value = row[expert]
                if filled == chosen && !(value > row[slotIndices[chosen - 1]]) { continue }
                var position = min(filled, chosen - 1)
                while position > 0 && value > row[slotIndices[position - 1]] {
                    slotIndices[position] = slotIndices[position - 1]
                    position -= 1
                }
                slotIndices[position] = expert
                if filled < chosen { filled += 1 }
            }
            let best = row[slotIndices[0]]
            var total: Float = 0
            for slot in 0..<chosen {
                let probability = expf(row[slotIndices[slot]] - best)
                slotWeights[slot] = probability
                total += probability
            }
            for slot in 0..<chosen { slotWeights[slot] /= total }
            for slot in chosen..<topK {
                slotIndices[slot] = -1
                slotWeights[slot] = 0
            }
        }
    }

    /// The tokens routed to `expert` by `router`'s indices, in token order, with their gate
    /// weights. `rows` and `rowWeights` need room for `tokens` entries. Returns the count.
    public static func expertRows(
        indices: UnsafePointer<Int>, weights: UnsafePointer<Float>, tokens: Int, topK: Int, expert: Int,
        rows: UnsafeMutablePointer<Int>, rowWeights: UnsafeMutablePointer<Float>
    ) -> Int {
        var count = 0
        for token in 0..<max(tokens, 0) {
            for slot in 0..<max(topK, 0) where indices[token * topK + slot] == expert {
                rows[count] = token
                rowWeights[count] = weights[token * topK + slot]
                count += 1
            }
        }
        return count
    }

    /// dst[r, ·] = src[indices[r], ·] for r in 0..<rows. Bytes: 8·rows·width.
    public static func gatherRows(
        src: UnsafePointer<Float>, indices: UnsafePointer<Int>, dst: UnsafeMutablePointer<Float>,
        rows: Int, width: Int
    ) {
        guard width > 0 else { return }
        for row in 0..<max(rows, 0) {
            (dst + row * width).update(from: src + indices[row] * width, count: width)
        }
    }

    /// dst[indices[r], ·] += weights[r] · src[r, ·] (weight 1 when `weights` is nil): the
    /// combine step after the experts. Bytes: 12·rows·width. FLOPs: 2·rows·width.
    public static func scatterAddRows(
        src: UnsafePointer<Float>, indices: UnsafePointer<Int>, weights: UnsafePointer<Float>?,
        dst: UnsafeMutablePointer<Float>, rows: Int, width: Int
    ) {
        guard width > 0 else { return }
        for row in 0..<max(rows, 0) {
            let source = src + row * width
            let target = dst + indices[row] * width
            let scale = weights?[row] ?? 1
            let scaleVector = SIMD8<Float>(repeating: scale)
            var i = 0
            while i + 8 <= width {
                store8(load8(target + i).addingProduct(scaleVector, load8(source + i)), target + i)
                i += 8
            }
            while i < width {
                target[i] += scale * source[i]
                i += 1
            }
        }
    }

    // MARK: Fast feed-forward

    /// FFF hard descent: per token, start at node 0; at each of `depth` levels take the sum
    /// of the current node's nodeWidth neuron activations (dot products with x), go to the
    /// left child 2i+1 if the sum is negative, else to the right child 2i+2. The leaf index
    /// written is the final node minus (2^depth - 1), in 0..<2^depth.
    ///
    /// Layouts: x [tokens, dIn]; nodeWeights [2^depth - 1, nodeWidth, dIn]; leaf [tokens].
    ///
    /// FLOPs: 2·tokens·depth·nodeWidth·dIn.
    public static func fffDescent(
        x: UnsafePointer<Float>, nodeWeights: UnsafePointer<Float>,
        tokens: Int, dIn: Int, depth: Int, nodeWidth: Int, leaf: UnsafeMutablePointer<Int>
    ) {
        guard tokens > 0 else { return }
        let levels = max(depth, 0)
        let firstLeaf = (1 << levels) - 1
        for token in 0..<tokens {
            let input = x + token * dIn
            var node = 0
            for _ in 0..<levels {
                let neurons = nodeWeights + node * nodeWidth * dIn
                var activation: Float = 0
                for neuron in 0..<max(nodeWidth, 0) {
                    activation += dot(neurons + neuron * dIn, input, count: dIn)
                }
                node = activation < 0 ? 2 * node + 1 : 2 * node + 2
            }
            leaf[token] = node - firstLeaf
        }
    }

    /// The tokens whose leaf (from `fffDescent`) is `leaf`, in token order, written to
    /// `rows` (room for `tokens`). Returns the count.
    public static func leafRows(
        leaves: UnsafePointer<Int>, tokens: Int, leaf: Int, rows: UnsafeMutablePointer<Int>
    ) -> Int {
        var count = 0
        for token in 0..<max(tokens, 0) where leaves[token] == leaf {
            rows[count] = token
            count += 1
        }
        return count
    }

    /// Floats of scratch `fffLeafForward` needs for `rows` tokens.
    public static func fffLeafScratchCount(rows: Int, dIn: Int, leafWidth: Int) -> Int {
        max(1, max(rows, 0) * (2 * max(dIn, 0) + max(leafWidth, 0)))
    }

    /// One FFF leaf's MLP on the tokens routed to it: gather their rows of x, then
    /// out[row] = gelu(x[row]·w1)·w2 (GELU tanh form), written back to those rows of `out`
    /// (other rows untouched).
    ///
    /// Layouts: x and out [tokens, dIn]; rows [count] token indices (from `leafRows`);
    /// w1 [dIn, leafWidth]; w2 [leafWidth, dIn]; scratch at least
    /// `fffLeafScratchCount(rows: count, ...)` floats.
    ///
    /// FLOPs: 4·count·dIn·leafWidth (the two GEMMs).
    public static func fffLeafForward(
        x: UnsafePointer<Float>, rows: UnsafePointer<Int>, count: Int, dIn: Int, leafWidth: Int,
        w1: UnsafePointer<Float>, w2: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>,
        scratch: UnsafeMutablePointer<Float>
    ) {
        guard count > 0, dIn > 0, leafWidth > 0 else { return }
        let gathered = scratch
        let hidden = scratch + count * dIn
        let result = hidden + count * leafWidth
        gatherRows(src: x, indices: rows, dst: gathered, rows: count, width: dIn)
        BLAS.sgemm(m: count, n: leafWidth, k: dIn, a: gathered, b: w1, c: hidden)
        ElementwiseKernels.gelu(x: hidden, out: hidden, count: count * leafWidth)
        BLAS.sgemm(m: count, n: dIn, k: leafWidth, a: hidden, b: w2, c: result)
        for row in 0..<count {
            (out + rows[row] * dIn).update(from: result + row * dIn, count: dIn)
        }
    }
}
