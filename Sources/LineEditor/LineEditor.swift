import CLibEdit
import CLibEditShim

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A line editor on a terminal, over libedit: emacs key bindings, a prompt that is asked for on every redraw,
/// a persistent history file, Tab completion through a callback, and lines printed from other threads above
/// the prompt without garbling what is being typed.
///
/// libedit is not thread-safe and `el_gets` blocks its thread, so everything but `wake()` must be called from
/// the one thread that calls `readLine()`. Other threads hand over output by calling `wake()`; the reading
/// thread then asks `pendingOutput` for it, prints it above the prompt and redraws the prompt and partial line.
/// One editor per process (the signal handlers are process-wide).
public final class LineEditor: @unchecked Sendable {
    /// What a Tab press yields: text to insert at the cursor, and the candidates to list when the insertion
    /// alone does not finish the word.
    public struct Completion: Sendable, Hashable {
        public var insertion: String
        public var candidates: [String]

        public init(insertion: String = "", candidates: [String] = []) {
            self.insertion = insertion
            self.candidates = candidates
        }
    }

    /// The outcome of `readLine()`.
    public enum Input: Sendable, Hashable {
        /// A line, without its newline.
        case line(String)
        /// Ctrl-C: the partial line was abandoned.
        case interrupted
        /// Ctrl-D on an empty line, or the end of the input.
        case endOfInput
    }

    /// Called on each redraw of the prompt.
    public var prompt: () -> String = { "> " }
    /// Called with the text before the cursor when Tab is pressed.
    public var completer: ((String) -> Completion)?
    /// Called on the reading thread after `wake()`; returns the text to print above the prompt (full lines,
    /// newline-terminated), or nil.
    public var pendingOutput: () -> String? = { nil }
    /// Where the history is kept between runs; nil keeps it in memory only.
    public let historyFile: String?

    private let editLine: OpaquePointer
    private let history: OpaquePointer
    private var promptBuffer: UnsafeMutablePointer<CChar>?
    private let wakeRead: Int32
    private let wakeWrite: Int32

    /// Sets up libedit on the process's terminal; nil when stdin or stdout is not a terminal.
    public init?(program: String, historyFile: String?, historySize: Int = 1000) {
        guard isatty(0) == 1, isatty(1) == 1 else { return nil }
        // Without a locale libedit drops non-ASCII characters.
        setlocale(LC_CTYPE, "")
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return nil }
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        guard let editLine = zk_el_init(program), let history = zk_history_init(Int32(historySize)) else {
            close(fds[0])
            close(fds[1])
            return nil
        }
        self.editLine = editLine
        self.history = history
        self.historyFile = historyFile
        wakeRead = fds[0]
        wakeWrite = fds[1]

        zk_el_set_editor(editLine, "emacs")
        zk_el_set_hist(editLine, history)
        zk_el_set_clientdata(editLine, Unmanaged.passUnretained(self).toOpaque())
        zk_el_set_prompt(editLine) { editLine in
            LineEditor.owner(of: editLine).currentPrompt()
        }
        zk_el_addfn(editLine, "zk-complete", "complete the word before the cursor") { editLine, _ in
            LineEditor.owner(of: editLine).complete()
        }
        zk_el_bind(editLine, "^I", "zk-complete")
        zk_el_bind_interrupt(editLine, "^C")
        zk_el_install_reader(editLine, wakeRead) { editLine in
            LineEditor.owner(of: editLine).printPendingOutput()
        }
        zk_install_signal_handlers(wakeWrite)
        // The user's ~/.editrc may rebind keys, as in every libedit program.
        zk_el_source(editLine, nil)
        if let historyFile { zk_history_load(history, historyFile) }
    }

    deinit {
        zk_history_end(history)
        zk_el_end(editLine)
        promptBuffer.map { free($0) }
        close(wakeRead)
        close(wakeWrite)
    }

    private static func owner(of editLine: OpaquePointer) -> LineEditor {
        Unmanaged<LineEditor>.fromOpaque(zk_el_get_clientdata(editLine)!).takeUnretainedValue()
    }

    /// Reads one line with editing. Blocks the calling thread.
    public func readLine() -> Input {
        _ = zk_take_interrupt()
        printPendingOutputDirectly()
        var count: Int32 = 0
        guard let raw = zk_el_gets(editLine, &count), count > 0 else {
            if zk_take_interrupt() != 0 { return .interrupted }
            return .endOfInput
        }
        var line = String(cString: raw)
        if zk_take_interrupt() != 0 {
            return .interrupted
        }
        if line.hasSuffix("\n") { line.removeLast() }
        return .line(line)
    }

    /// Adds a line to the history (for the Up arrow) and saves the history file.
    public func addToHistory(_ line: String) {
        guard !line.allSatisfy({ $0 == " " || $0 == "\t" }) else { return }
        zk_history_enter(history, line)
        if let historyFile { zk_history_save(history, historyFile) }
    }

    /// Whether Ctrl-C was pressed since the last call (outside `readLine`, e.g. while a command runs), and
    /// forgets it.
    public func takeInterrupt() -> Bool {
        zk_take_interrupt() != 0
    }

    /// Thread-safe: asks the reading thread to print `pendingOutput` above the prompt.
    public func wake() {
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
    }

    // MARK: Callbacks (reading thread)

    private func currentPrompt() -> UnsafeMutablePointer<CChar>? {
        // libedit keeps using the pointer after the callback returns, so the buffer is ours until replaced.
        promptBuffer.map { free($0) }
        promptBuffer = strdup(prompt())
        return promptBuffer
    }

    private func printPendingOutput() {
        guard let text = pendingOutput(), !text.isEmpty else { return }
        // Clear the prompt line, print above it, then let libedit draw the prompt and partial line again.
        Self.writeAll("\r\u{1B}[K" + text)
        zk_el_refresh(editLine)
    }

    private func printPendingOutputDirectly() {
        guard let text = pendingOutput(), !text.isEmpty else { return }
        Self.writeAll(text)
    }

    private func complete() -> UInt8 {
        guard let completer, let info = zk_el_line(editLine)?.pointee else { return UInt8(CC_REFRESH_BEEP) }
        let length = info.cursor - info.buffer
        let before = info.buffer.withMemoryRebound(to: UInt8.self, capacity: length) {
            String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
        }
        let completion = completer(before)
        if !completion.insertion.isEmpty {
            zk_el_insertstr(editLine, completion.insertion)
            return UInt8(CC_REFRESH)
        }
        if completion.candidates.count > 1 {
            Self.writeAll("\n" + Self.columns(completion.candidates, width: Self.terminalWidth()))
            return UInt8(CC_REDISPLAY)
        }
        return UInt8(CC_REFRESH_BEEP)
    }

    // MARK: Helpers

    /// Lays out `items` in columns that fit `width`, row by row, each line newline-terminated.
    public static func columns(_ items: [String], width: Int) -> String {
        guard let longest = items.map(\.count).max() else { return "" }
        let cell = longest + 2
        let perRow = max(1, width / cell)
        let rows = (items.count + perRow - 1) / perRow
        var text = ""
        for row in 0..<rows {
            var line = ""
            for column in 0..<perRow {
                let index = column * rows + row
                guard index < items.count else { continue }
                let item = items[index]
                let isLast = column == perRow - 1 || (column + 1) * rows + row >= items.count
                line += isLast ? item : item + String(repeating: " ", count: cell - item.count)
            }
            text += line + "\n"
        }
        return text
    }

    private static func terminalWidth() -> Int {
        var size = winsize()
        if ioctl(1, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        return 80
    }

    private static func writeAll(_ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes { write(1, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                return
            }
            offset += written
        }
    }
}
