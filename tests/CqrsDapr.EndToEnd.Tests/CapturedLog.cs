using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace CqrsDapr.EndToEnd.Tests;

/// <summary>The log of an AppHost run in the test process: every entry of the given categories, in order, for assertions.</summary>
internal sealed class CapturedLog(params string[] categoryPrefixes) : ILoggerProvider
{
    private readonly ConcurrentQueue<Entry> entries = new();
    private readonly Signal changed = new();

    public IReadOnlyList<Entry> Entries => [.. entries];

    public ILogger CreateLogger(string categoryName) =>
        categoryPrefixes.Any(prefix => categoryName.StartsWith(prefix, StringComparison.Ordinal))
            ? new Logger(this, categoryName)
            : Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

    /// <summary>Waits for an entry at <paramref name="level"/> whose message contains <paramref name="text"/>; false when the time runs out.</summary>
    public Task<bool> WaitForAsync(LogLevel level, string text, TimeSpan timeout, CancellationToken cancellationToken) =>
        changed.WaitUntilAsync(() => Count(level, text) > 0, timeout, cancellationToken);

    /// <summary>How many entries at <paramref name="level"/> have a message containing <paramref name="text"/>.</summary>
    public int Count(LogLevel level, string text) =>
        entries.Count(entry => entry.Level == level && entry.Message.Contains(text, StringComparison.Ordinal));

    public void Dispose()
    {
    }

    internal sealed record Entry(string Category, LogLevel Level, string Message);

    private sealed class Logger(CapturedLog log, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }

            log.entries.Enqueue(new Entry(category, logLevel, formatter(state, exception)));
            log.changed.Raise();
        }
    }
}
