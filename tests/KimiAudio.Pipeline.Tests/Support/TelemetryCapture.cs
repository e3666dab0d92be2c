using System.Collections.Concurrent;
using System.Diagnostics;
using KimiAudio.Pipeline.Tests.Support;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Trace;

[assembly: HostingStartup(typeof(TelemetryCapture))]

namespace KimiAudio.Pipeline.Tests.Support;

/// <summary>
/// Captures what a service host records, without touching its code: the host is started with
/// <see cref="Arguments"/>, ASP.NET Core runs this hosting startup, and it adds OpenTelemetry's in-memory exporter to the
/// tracer provider that the service's own ServiceDefaults wiring built, plus a logger provider that keeps each record
/// with its scopes.
/// </summary>
public sealed class TelemetryCapture : IHostingStartup
{
    private const string IdKey = "TelemetryCapture:Id";
    private static readonly ConcurrentDictionary<string, Sink> Sinks = new();

    public static Sink Create()
    {
        var sink = new Sink(Guid.NewGuid().ToString("N"));
        Sinks[sink.Id] = sink;
        return sink;
    }

    public void Configure(IWebHostBuilder builder) => builder.ConfigureServices((context, services) =>
    {
        if (context.Configuration[IdKey] is not { } id || !Sinks.TryGetValue(id, out var sink)) return;
        services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddInMemoryExporter(sink.Spans));
        services.AddSingleton<ILoggerProvider>(sink.Logs);
    });

    public sealed class Sink(string id)
    {
        public string Id { get; } = id;
        /// <summary>Ended spans (the in-memory exporter adds each as it ends; read with <see cref="SpansSnapshot"/>).</summary>
        public LockedList Spans { get; } = [];
        public CapturingLoggerProvider Logs { get; } = new();

        /// <summary>Settings that make a host started with them report into this sink.</summary>
        public Dictionary<string, string?> Arguments() => new()
        {
            ["hostingStartupAssemblies"] = typeof(TelemetryCapture).Assembly.GetName().Name,
            [IdKey] = Id,
        };

        public List<Activity> SpansSnapshot() => Spans.Snapshot();
    }

    /// <summary>The exporter adds from its own thread while the test reads.</summary>
    public sealed class LockedList : System.Collections.ObjectModel.Collection<Activity>
    {
        protected override void InsertItem(int index, Activity item)
        {
            lock (this) base.InsertItem(index, item);
        }

        public List<Activity> Snapshot()
        {
            lock (this) return [.. this];
        }
    }
}

/// <summary>Keeps every log record with the key/value pairs of all scopes open when it was written.</summary>
public sealed class CapturingLoggerProvider : ILoggerProvider, ISupportExternalScope
{
    private readonly ConcurrentQueue<LogRecord> records = new();
    private IExternalScopeProvider scopes = new LoggerExternalScopeProvider();

    public IReadOnlyList<LogRecord> Records => [.. records];

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => scopes = scopeProvider;

    public void Dispose()
    {
    }

    public sealed record LogRecord(string Category, LogLevel Level, string Message, IReadOnlyDictionary<string, object?> Scope);

    private sealed class Logger(CapturingLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => provider.scopes.Push(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var scope = new Dictionary<string, object?>();
            provider.scopes.ForEachScope((value, into) =>
            {
                if (value is IEnumerable<KeyValuePair<string, object?>> pairs) foreach (var (k, v) in pairs) into[k] = v;
                else if (value is IEnumerable<KeyValuePair<string, object>> objects) foreach (var (k, v) in objects) into[k] = v;
            }, scope);
            provider.records.Enqueue(new LogRecord(category, logLevel, formatter(state, exception), scope));
        }
    }
}
