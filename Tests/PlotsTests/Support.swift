import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
@testable import Plots

/// What an SVG holds, read back with XMLParser (which also proves it is well-formed XML).
final class SVGDocument: NSObject, XMLParserDelegate {
    struct Element { var name: String; var attributes: [String: String]; var text: String }

    private(set) var elements: [Element] = []
    private var stack: [Int] = []
    private(set) var error: Error?

    init(_ svg: String) {
        super.init()
        let parser = XMLParser(data: Data(svg.utf8))
        parser.delegate = self
        if !parser.parse() { error = parser.parserError ?? NSError(domain: "xml", code: 1) }
    }

    var wellFormed: Bool { error == nil && elements.first?.name == "svg" }

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]) {
        elements.append(Element(name: elementName, attributes: attributeDict, text: ""))
        stack.append(elements.count - 1)
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
        stack.removeLast()
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if let top = stack.last { elements[top].text += string }
    }

    /// Elements with `class="cls"`.
    func elements(class cls: String) -> [Element] { elements.filter { $0.attributes["class"] == cls } }

    /// Text of `<text>` elements with `class="cls"` (all texts when nil).
    func texts(class cls: String? = nil) -> [String] {
        elements.filter { $0.name == "text" && (cls == nil || $0.attributes["class"] == cls) }.map(\.text)
    }
}

enum Samples {
    static let splits = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
    static let seqLens = [1024, 2048, 4096]

    /// A sweep over split × seq_len, shaped like sweep.csv.
    static func sweep() -> String {
        var text = "point,model.blocks.hyb.mixer.split,workload.seq_len,scenario,engine,latency_s,tokens_per_s,peak_memory_bytes,mfu,split_ratios\n"
        var point = 0
        for split in splits {
            for seqLen in seqLens {
                let n = Double(seqLen)
                let latency = max(split * n * n * 2e-10, (1 - split) * n * 3e-7) + 2e-5 * n / 1024
                text += "\(point),\(split),\(seqLen),flowhn,event,\(latency),\(8 * n / latency),\(3.3e8 * n / 1024),0.2,\"hyb=\(split),attn=1\"\n"
                point += 1
            }
        }
        return text
    }

    /// layers.csv with `lanes` lanes × `layers` layers.
    static func layers(layers: Int = 24, lanes: [String] = ["gpu0.attention", "gpu0.ssm"], scenario: String = "demo") -> String {
        var text = "scenario,engine,layer,block,lane,start_s,end_s,busy_s,idle_s,flops,bytes\n"
        var t = 0.0
        for layer in 0..<layers {
            let busy = lanes.indices.map { 2.5e-4 + Double(($0 * 7 + layer * 3) % 11) * 1.5e-5 }
            let span = busy.max()!
            for (index, lane) in lanes.enumerated() {
                text += "\(scenario),event,\(layer),hyb,\(lane),\(t),\(t + span),\(busy[index]),\(span - busy[index]),3.9e10,2.4e8\n"
            }
            t += span
        }
        return text
    }

    static let categories = ["gemm", "attention", "elementwise", "scan"]

    /// A Chrome trace with two lanes and `events` complete events.
    static func timeline(events: Int = 50) -> String {
        var list: [String] = [
            #"{"name":"process_name","ph":"M","pid":0,"tid":0,"args":{"name":"demo"}}"#,
            #"{"name":"thread_name","ph":"M","pid":0,"tid":0,"args":{"name":"gpu0.attention"}}"#,
            #"{"name":"thread_sort_index","ph":"M","pid":0,"tid":0,"args":{"sort_index":0}}"#,
            #"{"name":"thread_name","ph":"M","pid":0,"tid":1,"args":{"name":"gpu0.ssm"}}"#,
            #"{"name":"thread_sort_index","ph":"M","pid":0,"tid":1,"args":{"sort_index":1}}"#,
        ]
        var clock = [0.0, 0.0]
        for index in 0..<events {
            let tid = index % 2
            let category = categories[index % categories.count]
            let duration = 5 + Double((index * 37) % 50)
            list.append(#"{"name":"op\#(index)","cat":"\#(category)","ph":"X","pid":0,"tid":\#(tid),"ts":\#(clock[tid]),"dur":\#(duration),"args":{"layer":\#(index / 4)}}"#)
            clock[tid] += duration + 2
        }
        return #"{"displayTimeUnit":"ns","traceEvents":["# + list.joined(separator: ",") + "]}"
    }
}

/// The PlotError thrown by `body`, or nil.
func plotError(_ body: () throws -> Any) -> PlotError? {
    do {
        _ = try body()
        return nil
    } catch let error as PlotError {
        return error
    } catch {
        return nil
    }
}
