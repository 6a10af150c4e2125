/// Memory-bound elementwise kernels, eight lanes at a time. Each moves the bytes stated in
/// its documentation (inputs read plus outputs written, fp32); `out` may alias an input.
public enum ElementwiseKernels {
    /// RMSNorm (Zhang and Sennrich 2019): out[r, i] = x[r, i] / sqrt(mean_i(x[r, ·]²) + ε) · weight[i].
    ///
    /// Bytes: 8·rows·width (+ 4·width for the weights). FLOPs: 4·rows·width.
    public static func rmsNorm(
        x: UnsafePointer<Float>, weight: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>,
        rows: Int, width: Int, epsilon: Float = 1e-6
    ) {
        guard rows > 0, width > 0 else { return }
        for row in 0..<rows {
            let input = x + row * width
            let output = out + row * width
            let meanSquare = dot(input, input, count: width) / Float(width)
            let scale = 1 / (meanSquare + epsilon).squareRoot()
            let scaleVector = SIMD8<Float>(repeating: scale)
            var i = 0
            while i + 8 <= width {
                store8(load8(input + i) * scaleVector * load8(weight + i), output + i)
                i += 8
            }
            while i < width {
                output[i] = input[i] * scale * weight[i]
                i += 1
            }
        }
    }

    /// SwiGLU's product (Shazeer 2020): out = silu(gate) · up, silu(g) = g · sigmoid(g).
    ///
    /// Bytes: 12·count.
    public static func siluMul(
        gate: UnsafePointer<Float>, up: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, count: Int
    ) {
        binary(gate, up, out, count: count, SiluMultiply.self)
    }

    /// out = silu(x) = x · sigmoid(x) (Mamba's activation after the convolution).
    ///
    /// Bytes: 8·count.
    public static func silu(x: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, count: Int) {
        unary(x, out, count: count, Silu.self)
    }

    /// GELU, tanh approximation: out = 0.5 x (1 + tanh(sqrt(2/π)(x + 0.044715 x³))).
    ///
    /// Bytes: 8·count.
    public static func gelu(x: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, count: Int) {
        unary(x, out, count: count, Gelu.self)
    }

    /// out = a + b (residual add). Bytes: 12·count.
    public static func add(
        a: UnsafePointer<Float>, b: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, count: Int
    ) {
        binary(a, b, out, count: count, Sum.self)
    }

    /// out = (a + b) / 2 (averaging two branches). Bytes: 12·count.
    public static func mean(
        a: UnsafePointer<Float>, b: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, count: Int
    ) {
        binary(a, b, out, count: count, Average.self)
    }

    /// out = g·a + (1 - g)·b with g = sigmoid(logits) (a learned gate between two branches).
    ///
    /// Bytes: 16·count.
    public static func gateMix(
        logits: UnsafePointer<Float>, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
        out: UnsafeMutablePointer<Float>, count: Int
    ) {
        guard count > 0 else { return }
        var i = 0
        while i + 8 <= count {
            let gate = FastMath.sigmoid(load8(logits + i))
            let second = load8(b + i)
            store8(second.addingProduct(gate, load8(a + i) - second), out + i)
            i += 8
        }
        if i < count {
            let rest = count - i
            let gate = FastMath.sigmoid(loadPartial8(logits + i, count: rest))
            let second = loadPartial8(b + i, count: rest)
            storePartial8(second.addingProduct(gate, loadPartial8(a + i, count: rest) - second), out + i, count: rest)
        }
    }

    /// out = a · b (a mask applied to activations). Bytes: 12·count.
    public static func multiply(
        a: UnsafePointer<Float>, b: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, count: Int
    ) {
        binary(a, b, out, count: count, Product.self)
    }

    /// out = alpha·a + (1 - alpha)·b (the FFF master leaf's blend with the routed leaf). Bytes: 12·count.
    public static func blend(
        a: UnsafePointer<Float>, b: UnsafePointer<Float>, alpha: Float, out: UnsafeMutablePointer<Float>, count: Int
    ) {
        guard count > 0 else { return }
        let weight = SIMD8<Float>(repeating: alpha)
        var i = 0
        while i + 8 <= count {
            let second = load8(b + i)
            store8(second.addingProduct(weight, load8(a + i) - second), out + i)
            i += 8
        }
        while i < count {
            out[i] = b[i] + alpha * (a[i] - b[i])
            i += 1
        }
    }

    /// out = Σ_j weights[j] · inputs[j] over the k inputs (the MoE combine of a token's k expert outputs,
    /// each input `count` floats apart from the previous). Bytes: 4·(k + 1)·count.
    public static func weightedSum(
        inputs: UnsafePointer<Float>, k: Int, weights: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, count: Int
    ) {
        guard count > 0 else { return }
        guard k > 0 else { out.update(repeating: 0, count: count); return }
        var i = 0
        while i + 8 <= count {
            var acc = load8(inputs + i) * SIMD8<Float>(repeating: weights[0])
            for j in 1..<max(1, k) { acc.addProduct(SIMD8<Float>(repeating: weights[j]), load8(inputs + j * count + i)) }
            store8(acc, out + i)
            i += 8
        }
        while i < count {
            var acc: Float = 0
            for j in 0..<k { acc += weights[j] * inputs[j * count + i] }
            out[i] = acc
            i += 1
        }
    }

    /// One Adam step (Kingma and Ba 2015, Algorithm 1), in place: m = β1·m + (1-β1)·g,
    /// v = β2·v + (1-β2)·g², p -= lr·m / (sqrt(v) + ε) (bias corrections folded into `lr`).
    /// Bytes: 28·count (p, g, m, v read; p, m, v written). FLOPs: about 12·count.
    public static func adam(
        parameters: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>, m: UnsafeMutablePointer<Float>,
        v: UnsafeMutablePointer<Float>, count: Int, learningRate: Float = 1e-4, beta1: Float = 0.9, beta2: Float = 0.999,
        epsilon: Float = 1e-8
    ) {
        guard count > 0 else { return }
        let b1 = SIMD8<Float>(repeating: beta1), c1 = SIMD8<Float>(repeating: 1 - beta1)
        let b2 = SIMD8<Float>(repeating: beta2), c2 = SIMD8<Float>(repeating: 1 - beta2)
        let lr = SIMD8<Float>(repeating: learningRate), eps = SIMD8<Float>(repeating: epsilon)
        var i = 0
        while i + 8 <= count {
            let g = load8(gradients + i)
            let mNew = b1 * load8(m + i) + c1 * g
            let vNew = b2 * load8(v + i) + c2 * g * g
            store8(mNew, m + i)
            store8(vNew, v + i)
            store8(load8(parameters + i) - lr * mNew / (vNew.squareRoot() + eps), parameters + i)
            i += 8
        }
        while i < count {
            let g = gradients[i]
            m[i] = beta1 * m[i] + (1 - beta1) * g
            v[i] = beta2 * v[i] + (1 - beta2) * g * g
            parameters[i] -= learningRate * m[i] / (v[i].squareRoot() + epsilon)
            i += 1
        }
    }

    /// STREAM triad c = a + scalar·b (McCalpin, STREAM benchmark). Bytes: 12·count (STREAM's
    /// convention; the write-allocate read of c is not counted).
    public static func triad(
        a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, scalar: Float, count: Int
    ) {
        let factor = SIMD8<Float>(repeating: scalar)
        guard count > 0 else { return }
        var i = 0
        while i + 32 <= count {
            store8(load8(a + i).addingProduct(factor, load8(b + i)), c + i)
            store8(load8(a + i + 8).addingProduct(factor, load8(b + i + 8)), c + i + 8)
            store8(load8(a + i + 16).addingProduct(factor, load8(b + i + 16)), c + i + 16)
            store8(load8(a + i + 24).addingProduct(factor, load8(b + i + 24)), c + i + 24)
            i += 32
        }
        while i < count {
            c[i] = a[i] + scalar * b[i]
            i += 1
        }
    }

    @inline(__always)
    private static func unary<Operation: UnaryOperation>(
        _ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, count: Int, _ operation: Operation.Type
    ) {
        guard count > 0 else { return }
        var i = 0
        while i + 8 <= count {
            store8(operation.apply(load8(x + i)), out + i)
            i += 8
        }
        if i < count {
            let rest = count - i
            storePartial8(operation.apply(loadPartial8(x + i, count: rest)), out + i, count: rest)
        }
    }

    @inline(__always)
    private static func binary<Operation: BinaryOperation>(
        _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, count: Int,
        _ operation: Operation.Type
    ) {
        guard count > 0 else { return }
        var i = 0
        while i + 16 <= count {
            let first = operation.apply(load8(a + i), load8(b + i))
            let second = operation.apply(load8(a + i + 8), load8(b + i + 8))
            store8(first, out + i)
            store8(second, out + i + 8)
            i += 16
        }
        while i + 8 <= count {
            store8(operation.apply(load8(a + i), load8(b + i)), out + i)
            i += 8
        }
        if i < count {
            let rest = count - i
            storePartial8(operation.apply(loadPartial8(a + i, count: rest), loadPartial8(b + i, count: rest)), out + i, count: rest)
        }
    }
}

// The operations as types rather than closures: generic specialisation then inlines them
// into the loops (a closure argument was left as a call per vector).

private protocol UnaryOperation {
    static func apply(_ x: SIMD8<Float>) -> SIMD8<Float>
}

private protocol BinaryOperation {
    static func apply(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float>
}

private enum Silu: UnaryOperation {
    @_transparent static func apply(_ x: SIMD8<Float>) -> SIMD8<Float> { FastMath.silu(x) }
}

private enum Gelu: UnaryOperation {
    @_transparent static func apply(_ x: SIMD8<Float>) -> SIMD8<Float> { FastMath.gelu(x) }
}

private enum SiluMultiply: BinaryOperation {
    @_transparent static func apply(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> { FastMath.silu(a) * b }
}

private enum Sum: BinaryOperation {
    @_transparent static func apply(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> { a + b }
}

private enum Product: BinaryOperation {
    @_transparent static func apply(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> { a * b }
}

private enum Average: BinaryOperation {
    @_transparent static func apply(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> { (a + b) * 0.5 }
}
