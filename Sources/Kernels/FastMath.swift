// Vectorised elementary functions shared by the kernels.
//
// exp is computed as 2^t with t = x·log2(e): t = n + f with n an integer (found with the
// 1.5·2^23 rounding trick, so no float-to-int conversion is needed) and f in [-0.5, 0.5];
// 2^f is a degree-5 polynomial fitted for minimum relative error on [-0.5, 0.5]
// (max relative error 2.4e-7 in float arithmetic) and 2^n is added into the exponent bits.

/// Fast vectorised exponentials, sigmoid, SiLU, GELU and tanh for fp32.
///
/// Accuracy: `exp2` has relative error below 3e-7 and `exp` below 1e-5 (about 3e-6 at
/// |x| = 87, where the rounding of x·log2(e) to fp32 dominates) against the exact
/// exponential of the fp32 input, for x in [-86, 88]. Inputs are clamped to
/// 2^[-125, 127], so very negative x returns about 2.4e-38 instead of 0 and very large x
/// returns about 1.7e38 instead of infinity; NaN inputs give unspecified finite results.
public enum FastMath {
    /// log2(e), for converting natural-log arguments to base 2.
    public static let log2e: Float = 1.442_695_040_888_963_4

    /// 2^x, eight lanes at a time; 11 vector operations.
    @_transparent
    public static func exp2(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let roundingMagic = SIMD8<Float>(repeating: 12_582_912.0)  // 1.5·2^23
        // exp2Coefficients, spelled out so they are immediate constants in every caller.
        let c0: Float = 1.000_000_119_209_289_6, c1: Float = 0.693_146_944_046_020_5
        let c2: Float = 0.240_221_202_373_504_64, c3: Float = 0.055_507_134_646_177_29
        let c4: Float = 0.009_675_540_961_325_169, c5: Float = 0.001_327_646_663_412_451_7
        var clamped = x.replacing(with: -125, where: x .< -125)
        clamped = clamped.replacing(with: 127, where: clamped .> 127)
        let shifted = clamped + roundingMagic  // low mantissa bits now hold round(x)
        let fraction = clamped - (shifted - roundingMagic)
        var p = SIMD8<Float>(repeating: c5)
        p = SIMD8<Float>(repeating: c4).addingProduct(p, fraction)
        p = SIMD8<Float>(repeating: c3).addingProduct(p, fraction)
        p = SIMD8<Float>(repeating: c2).addingProduct(p, fraction)
        p = SIMD8<Float>(repeating: c1).addingProduct(p, fraction)
        p = SIMD8<Float>(repeating: c0).addingProduct(p, fraction)
        let bits = unsafeBitCast(p, to: SIMD8<UInt32>.self)
            &+ (unsafeBitCast(shifted, to: SIMD8<UInt32>.self) &<< 23)
        return unsafeBitCast(bits, to: SIMD8<Float>.self)
    }

    /// 2^x, sixteen lanes at a time (two AVX registers).
    @_transparent
    public static func exp2(_ x: SIMD16<Float>) -> SIMD16<Float> {
        let roundingMagic = SIMD16<Float>(repeating: 12_582_912.0)
        // exp2Coefficients, spelled out so they are immediate constants in every caller.
        let c0: Float = 1.000_000_119_209_289_6, c1: Float = 0.693_146_944_046_020_5
        let c2: Float = 0.240_221_202_373_504_64, c3: Float = 0.055_507_134_646_177_29
        let c4: Float = 0.009_675_540_961_325_169, c5: Float = 0.001_327_646_663_412_451_7
        var clamped = x.replacing(with: -125, where: x .< -125)
        clamped = clamped.replacing(with: 127, where: clamped .> 127)
        let shifted = clamped + roundingMagic
        let fraction = clamped - (shifted - roundingMagic)
        var p = SIMD16<Float>(repeating: c5)
        p = SIMD16<Float>(repeating: c4).addingProduct(p, fraction)
        p = SIMD16<Float>(repeating: c3).addingProduct(p, fraction)
        p = SIMD16<Float>(repeating: c2).addingProduct(p, fraction)
        p = SIMD16<Float>(repeating: c1).addingProduct(p, fraction)
        p = SIMD16<Float>(repeating: c0).addingProduct(p, fraction)
        let bits = unsafeBitCast(p, to: SIMD16<UInt32>.self)
            &+ (unsafeBitCast(shifted, to: SIMD16<UInt32>.self) &<< 23)
        return unsafeBitCast(bits, to: SIMD16<Float>.self)
    }

    /// 2^x for decay factors such as the selective scan's exp(delta·A), for x ≤ 127: a
    /// cheaper sibling of `exp2` (the scan is bound by its vector operation count).
    /// Degree-4 polynomial for 2^f on [-0.5, 0.5] (max relative error 2.6e-6, so e^y as
    /// exp2Decay(y·log2 e) stays within 1e-5), reduction by rounding (a shorter dependency
    /// chain than the 1.5·2^23 trick), and only the lower clamp: inputs above 127 (factors
    /// above 1.7e38, a diverged state) give unspecified values.
    @_transparent
    public static func exp2Decay(_ x: SIMD16<Float>) -> SIMD16<Float> {
        let c0: Float = 0.999_999_284_744_262_7, c1: Float = 0.693_121_790_885_925_3
        let c2: Float = 0.240_247_443_318_367, c3: Float = 0.055_917_859_077_453_61
        let c4: Float = 0.009_570_099_413_394_928
        let clamped = x.replacing(with: -125, where: x .< -125)
        let whole = clamped.rounded(.toNearestOrEven)
        let fraction = clamped - whole
        var p = SIMD16<Float>(repeating: c4)
        p = SIMD16<Float>(repeating: c3).addingProduct(p, fraction)
        p = SIMD16<Float>(repeating: c2).addingProduct(p, fraction)
        p = SIMD16<Float>(repeating: c1).addingProduct(p, fraction)
        p = SIMD16<Float>(repeating: c0).addingProduct(p, fraction)
        // whole + 1.5·2^23 holds the integer in its low mantissa bits; shifted into the
        // exponent field it multiplies p by 2^whole.
        let exponent = whole + 12_582_912.0
        let bits = unsafeBitCast(p, to: SIMD16<UInt32>.self)
            &+ (unsafeBitCast(exponent, to: SIMD16<UInt32>.self) &<< 23)
        return unsafeBitCast(bits, to: SIMD16<Float>.self)
    }

    /// e^x, eight lanes at a time.
    @_transparent
    public static func exp(_ x: SIMD8<Float>) -> SIMD8<Float> { exp2(x * log2e) }

    /// e^x, sixteen lanes at a time.
    @_transparent
    public static func exp(_ x: SIMD16<Float>) -> SIMD16<Float> { exp2(x * log2e) }

    /// e^x for one value (the first lane of the vector version, so results match it exactly).
    @_transparent
    public static func exp(_ x: Float) -> Float { exp(SIMD8<Float>(repeating: x))[0] }

    /// Logistic sigmoid 1 / (1 + e^-x).
    @_transparent
    public static func sigmoid(_ x: SIMD8<Float>) -> SIMD8<Float> {
        1 / (1 + exp2(x * -log2e))
    }

    /// SiLU (swish) x · sigmoid(x).
    @_transparent
    public static func silu(_ x: SIMD8<Float>) -> SIMD8<Float> { x / (1 + exp2(x * -log2e)) }

    /// SiLU for sixteen lanes.
    @_transparent
    public static func silu(_ x: SIMD16<Float>) -> SIMD16<Float> { x / (1 + exp2(x * -log2e)) }

    /// tanh(x) = 1 - 2 / (1 + e^(2x)); absolute error below 1e-6.
    @_transparent
    public static func tanh(_ x: SIMD8<Float>) -> SIMD8<Float> {
        1 - 2 / (1 + exp2(x * (2 * log2e)))
    }

    /// GELU, tanh approximation: 0.5 x (1 + tanh(sqrt(2/π) (x + 0.044715 x³)))
    /// (Hendrycks and Gimpel 2016, eq. for the tanh form), written as x · sigmoid(2u).
    @_transparent
    public static func gelu(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let sqrtTwoOverPi: Float = 0.797_884_560_802_865_4
        let inner = x * (sqrtTwoOverPi + (sqrtTwoOverPi * 0.044_715) * x * x)
        // 0.5 (1 + tanh(u)) = sigmoid(2u) = 1 / (1 + e^(-2u))
        return x / (1 + exp2(inner * (-2 * log2e)))
    }

    /// Coefficients c0...c5 of 2^f ≈ c0 + c1 f + ... + c5 f^5 on [-0.5, 0.5], fitted by
    /// iteratively reweighted least squares for minimum maximum relative error.
    public static let exp2Coefficients: (Float, Float, Float, Float, Float, Float) = (
        1.000_000_119_209_289_6, 0.693_146_944_046_020_5, 0.240_221_202_373_504_64,
        0.055_507_134_646_177_29, 0.009_675_540_961_325_169, 0.001_327_646_663_412_451_7
    )
}

// MARK: - Unaligned vector loads and stores, and reductions without generic stdlib calls

@inline(__always)
func load8(_ pointer: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(pointer).loadUnaligned(as: SIMD8<Float>.self)
}

@inline(__always)
func load8(_ pointer: UnsafeMutablePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(pointer).loadUnaligned(as: SIMD8<Float>.self)
}

@inline(__always)
func store8(_ value: SIMD8<Float>, _ pointer: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(pointer).storeBytes(of: value, as: SIMD8<Float>.self)
}

@inline(__always)
func load16(_ pointer: UnsafePointer<Float>) -> SIMD16<Float> {
    UnsafeRawPointer(pointer).loadUnaligned(as: SIMD16<Float>.self)
}

@inline(__always)
func store16(_ value: SIMD16<Float>, _ pointer: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(pointer).storeBytes(of: value, as: SIMD16<Float>.self)
}

/// Loads `count` (< 8) floats into the low lanes, the rest set to `fill`.
@inline(__always)
func loadPartial8(_ pointer: UnsafePointer<Float>, count: Int, fill: Float = 0) -> SIMD8<Float> {
    var value = SIMD8<Float>(repeating: fill)
    var lane = 0
    while lane < count {
        value[lane] = pointer[lane]
        lane &+= 1
    }
    return value
}

/// Stores the low `count` (< 8) lanes.
@inline(__always)
func storePartial8(_ value: SIMD8<Float>, _ pointer: UnsafeMutablePointer<Float>, count: Int) {
    var lane = 0
    while lane < count {
        pointer[lane] = value[lane]
        lane &+= 1
    }
}

@inline(__always)
func laneMax(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
    a.replacing(with: b, where: a .< b)
}

@inline(__always)
func horizontalSum(_ v: SIMD8<Float>) -> Float {
    let four = v.lowHalf + v.highHalf
    let two = four.lowHalf + four.highHalf
    return two[0] + two[1]
}

@inline(__always)
func horizontalMax(_ v: SIMD8<Float>) -> Float {
    let four = v.lowHalf.replacing(with: v.highHalf, where: v.lowHalf .< v.highHalf)
    let two = four.lowHalf.replacing(with: four.highHalf, where: four.lowHalf .< four.highHalf)
    return two[0] < two[1] ? two[1] : two[0]
}

/// Dot product of two fp32 vectors with four independent 8-wide accumulators.
@inline(__always)
func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
    var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>(), acc2 = SIMD8<Float>(), acc3 = SIMD8<Float>()
    var i = 0
    while i + 32 <= count {
        acc0 = acc0.addingProduct(load8(a + i), load8(b + i))
        acc1 = acc1.addingProduct(load8(a + i + 8), load8(b + i + 8))
        acc2 = acc2.addingProduct(load8(a + i + 16), load8(b + i + 16))
        acc3 = acc3.addingProduct(load8(a + i + 24), load8(b + i + 24))
        i &+= 32
    }
    while i + 8 <= count {
        acc0 = acc0.addingProduct(load8(a + i), load8(b + i))
        i &+= 8
    }
    var total = horizontalSum((acc0 + acc1) + (acc2 + acc3))
    while i < count {
        total += a[i] * b[i]
        i &+= 1
    }
    return total
}
