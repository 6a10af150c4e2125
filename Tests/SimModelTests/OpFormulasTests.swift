import Testing
@testable import SimModel

/// Every OpKind's FLOPs and bytes, worked out by hand from the formulas' definitions
/// (a multiply-add = 2 FLOPs; b = bytes per element).
@Suite struct OpFormulasTests {
    @Test func gemm() {
        // m=2, n=3, k=4, count=2: flops = count*2*m*n*k = 2*2*2*3*4 = 96;
        // bytes = count*(m*k + k*n + m*n)*b = 2*(8 + 12 + 6)*b = 52b.
        for b in [1.0, 2.0, 4.0] {
            let c = OpFormulas.cost(of: .gemm(m: 2, n: 3, k: 4, count: 2), elementBytes: b)
            #expect(approx(c.flops, 96))
            #expect(approx(c.bytes, (8 + 12 + 6) * 2 * b))
            #expect(!c.formula.isEmpty)
        }
    }

    @Test(arguments: [
        // (queries, keys, causal, window, expected sum of keys attended)
        (4.0, 4.0, true, nil, 10.0),     // causal prefill: 1 + 2 + 3 + 4 = 10
        (4.0, 4.0, true, 2, 7.0),        // window 2: 1 + 2 + 2 + 2 = 7
        (1.0, 5.0, true, nil, 5.0),      // decode: the one query is position 5 and sees 5 keys
        (3.0, 5.0, false, nil, 15.0),    // non-causal 3 x 5 = 15
        (2.0, 5.0, true, nil, 9.0),      // queries are positions 4, 5 of 5: 4 + 5 = 9
        (3.0, 5.0, true, 4, 11.0),       // positions 3, 4, 5 with window 4: 3 + 4 + 4 = 11
        (1.0, 5.0, true, 2, 2.0),        // decode with window 2: min(5, 2) = 2
        (2.0, 10.0, true, 3, 6.0),       // positions 9, 10, window 3 below both: 3 + 3 = 6
        (3.0, 5.0, false, 2, 6.0),       // non-causal with window 2: 3 * min(5, 2) = 6
        (0.0, 5.0, true, nil, 0.0),      // no queries
    ] as [(Double, Double, Bool, Int?, Double)])
    func attendedKeys(queries: Double, keys: Double, causal: Bool, window: Int?, expected: Double) {
        #expect(approx(OpFormulas.attendedKeys(queries: queries, keys: keys, causal: causal, window: window), expected))
    }

    @Test func attentionFlopsAndBytes() {
        // B=2, H=4, Hkv=2, Lq=Lk=4, d=8, causal: attended = 10;
        // flops = 4*B*H*attended*d = 4*2*4*10*8 = 2560;
        // bytes = (2*B*Lq*H*d + 2*B*Lk*Hkv*d)*b = (2*2*4*4*8 + 2*2*4*2*8)*b = (512 + 256)*b = 768b.
        let causal = OpFormulas.cost(of: .attention(batch: 2, heads: 4, kvHeads: 2, queries: 4, keys: 4, headDim: 8,
                                                    causal: true, window: nil), elementBytes: 2)
        #expect(approx(causal.flops, 2560))
        #expect(approx(causal.bytes, 768 * 2))
        // Non-causal: attended = 4*4 = 16, flops = 4*2*4*16*8 = 4096; same bytes.
        let full = OpFormulas.cost(of: .attention(batch: 2, heads: 4, kvHeads: 2, queries: 4, keys: 4, headDim: 8,
                                                  causal: false, window: nil), elementBytes: 2)
        #expect(approx(full.flops, 4096))
        #expect(approx(full.bytes, 768 * 2))
        // Window 2: attended = 7, flops = 4*2*4*7*8 = 1792; keys read = min(Lk, w + Lq) = min(4, 6) = 4.
        let windowed = OpFormulas.cost(of: .attention(batch: 2, heads: 4, kvHeads: 2, queries: 4, keys: 4, headDim: 8,
                                                      causal: true, window: 2), elementBytes: 2)
        #expect(approx(windowed.flops, 1792))
        #expect(approx(windowed.bytes, 768 * 2))
        // Decode B=1, H=2, Hkv=1, Lq=1, Lk=100, d=4, window 10: attended = 10, flops = 4*1*2*10*4 = 320;
        // keys read = min(100, 10 + 1) = 11; bytes = (2*1*1*2*4 + 2*1*11*1*4)*1 = 16 + 88 = 104.
        let decode = OpFormulas.cost(of: .attention(batch: 1, heads: 2, kvHeads: 1, queries: 1, keys: 100, headDim: 4,
                                                    causal: true, window: 10), elementBytes: 1)
        #expect(approx(decode.flops, 320))
        #expect(approx(decode.bytes, 104))
    }

    @Test func selectiveScan() {
        // B=2, L=3, D=4, N=5: flops = 9*B*L*D*N + 2*B*L*D = 9*2*3*4*5 + 2*2*3*4 = 1080 + 48 = 1128.
        // bytes = (4*B*L*D + 2*B*L*N + D*N)*b = (96 + 60 + 20)*b = 176b.
        let prefill = OpFormulas.cost(of: .selectiveScan(batch: 2, length: 3, dInner: 4, dState: 5, decodeState: false),
                                      elementBytes: 2)
        #expect(approx(prefill.flops, 1128))
        #expect(approx(prefill.bytes, 176 * 2))
        // Decode adds the fp32 state read and written: 2*B*D*N*4 = 2*2*4*5*4 = 320 bytes.
        let decode = OpFormulas.cost(of: .selectiveScan(batch: 2, length: 3, dInner: 4, dState: 5, decodeState: true),
                                     elementBytes: 2)
        #expect(approx(decode.flops, 1128))
        #expect(approx(decode.bytes, 176 * 2 + 320))
    }

    @Test func ssd() {
        // B=1, L=10, H=2, P=4, N=3, G=1, chunk 4: Q = 4, ceil(P/64) = 1, s = min(2, 1 + 64/4) = 2.
        // matrix = B*L*(4*H*P*N + 2*Q*G*N + H*Q*P*s) = 10*(96 + 24 + 64) = 1840;
        // vector = B*L*H*(10 + N + 2*P*N/Q + 2.5*Q*s + 2*P) = 20*(10 + 3 + 6 + 20 + 8) = 940.
        // bytes = (3*B*L*H*P + 4*B*L*G*N + B*L*H)*b + 6*B*L*H*4 + 2*B*L*Q*G*4 + B*L/Q*H*P*N*(8 + 2b)
        //       = (240 + 120 + 20)*2 + 480 + 320 + 2.5*24*12 = 760 + 480 + 320 + 720 = 2280.
        let prefill = OpFormulas.cost(of: .ssd(batch: 1, length: 10, heads: 2, headDim: 4, dState: 3, groups: 1, chunk: 4, decodeState: false),
                                      elementBytes: 2)
        #expect(approx(prefill.matrixFlops, 1840))
        #expect(approx(prefill.flops, 1840 + 940))
        #expect(approx(prefill.bytes, 2280))
        #expect(prefill.launches == 5)
        // C·B^T is per group: 4 groups instead of 1 add 2*Q*N*3 = 72 per token to the matrix part only.
        let grouped = OpFormulas.cost(of: .ssd(batch: 1, length: 10, heads: 2, headDim: 4, dState: 3, groups: 4, chunk: 4, decodeState: false),
                                      elementBytes: 2)
        #expect(approx(grouped.matrixFlops - prefill.matrixFlops, 10 * 72))
        #expect(approx(grouped.flops - grouped.matrixFlops, 940))
        // A chunk longer than the sequence is clipped to it: L=3, Q=3, s=2: matrix = 3*(96 + 18 + 48) = 486;
        // vector = 6*(10 + 3 + 8 + 15 + 8) = 264.
        let short = OpFormulas.cost(of: .ssd(batch: 1, length: 3, heads: 2, headDim: 4, dState: 3, groups: 1, chunk: 256, decodeState: false),
                                    elementBytes: 2)
        #expect(approx(short.flops, 486 + 264))
        // Decode (selective_state_update): vector only, B*H*(5*P*N + 7*P) = 2*(60 + 28) = 176;
        // bytes = (3*B*H*P + 2*B*G*N)*b + 2*B*H*P*N*4 = (24 + 6)*2 + 192 = 252.
        let decode = OpFormulas.cost(of: .ssd(batch: 1, length: 1, heads: 2, headDim: 4, dState: 3, groups: 1, chunk: 256, decodeState: true),
                                     elementBytes: 2)
        #expect(approx(decode.flops, 176))
        #expect(decode.matrixFlops == 0)
        #expect(approx(decode.bytes, 252))
    }

    @Test func conv1d() {
        // T=10, C=6, W=4: flops = 2*T*C*W = 480; bytes = (2*T*C + C*W)*b = (120 + 24)*b = 144b.
        let c = OpFormulas.cost(of: .conv1d(tokens: 10, channels: 6, width: 4), elementBytes: 4)
        #expect(approx(c.flops, 480))
        #expect(approx(c.bytes, 144 * 4))
    }

    @Test func elementwise() {
        // n=10, f=3, reads 2, writes 1: flops = 30, bytes = 10*(2+1)*b = 30b.
        let c = OpFormulas.cost(of: .elementwise(elements: 10, flopsPerElement: 3, reads: 2, writes: 1), elementBytes: 2)
        #expect(approx(c.flops, 30))
        #expect(approx(c.bytes, 60))
    }

    @Test func router() {
        // T=10, d=4, E=8: flops = T*(2*d*E + 5*E) = 10*(64 + 40) = 1040;
        // bytes = (T*d + d*E + T*E)*b = (40 + 32 + 80)*b = 152b.
        let c = OpFormulas.cost(of: .router(tokens: 10, dIn: 4, outputs: 8), elementBytes: 2)
        #expect(approx(c.flops, 1040))
        #expect(approx(c.bytes, 304))
    }

    @Test func treeDescent() {
        // T=5, d=4, 3 levels, node width 1: flops = T*levels*(2*d*w + 2) = 5*3*10 = 150;
        // nodes read (uniform): 1 + 2(1 - 0.5^5) + 4(1 - 0.75^5) = 5.98828; bytes = (T*d + 5.98828*d*w)*b.
        let c = OpFormulas.cost(of: .treeDescent(tokens: 5, dIn: 4, levels: 3, nodeWidth: 1, outputWidth: 0), elementBytes: 2)
        #expect(approx(c.flops, 150))
        #expect(approx(c.bytes, (20 + 5.98828125 * 4) * 2))
        // One token, 3 levels, width 2: flops = 1*3*(2*4*2 + 2) = 54; one node a level; bytes = (4 + 3*4*2)*1 = 28.
        let one = OpFormulas.cost(of: .treeDescent(tokens: 1, dIn: 4, levels: 3, nodeWidth: 2, outputWidth: 0), elementBytes: 1)
        #expect(approx(one.flops, 54))
        #expect(approx(one.bytes, 28))
        // UltraFastBERT nodes also output: per node 2*d*w + 2 + 8*w + 2*w*d_out = 8 + 2 + 8 + 8 = 26; 3 levels: 78.
        // bytes = (T*(d + d_out) + 3*w*(d + d_out))*b = (8 + 24)*1 = 32.
        let ufb = OpFormulas.cost(of: .treeDescent(tokens: 1, dIn: 4, levels: 3, nodeWidth: 1, outputWidth: 4), elementBytes: 1)
        #expect(approx(ufb.flops, 78))
        #expect(approx(ufb.bytes, 32))
    }

    @Test func gatherScatter() {
        // rows 3, width 5: no FLOPs; bytes = 2*rows*width*b = 30b.
        let c = OpFormulas.cost(of: .gatherScatter(rows: 3, width: 5), elementBytes: 4)
        #expect(c.flops == 0)
        #expect(approx(c.bytes, 120))
    }

    @Test func transfer() {
        // A transfer carries its byte count unchanged (no element size), no FLOPs.
        let c = OpFormulas.cost(of: .transfer(bytes: 1234, pattern: .allToAll(devices: 4)), elementBytes: 4)
        #expect(c.flops == 0)
        #expect(c.bytes == 1234)
    }
}
