using KimiAudio.Worker;
using KimiAudio.Worker.Engine;
using KimiAudio.Worker.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Configuration;

await TestWorker.Build(args).RunAsync();

namespace KimiAudio.Worker.TestHost
{
    /// <summary>The real worker host plus the "deterministic" engine kind (select it with Engine:Kind=deterministic).</summary>
    public static class TestWorker
    {
        public static IHost Build(string[] args) => WorkerHost.Build(args, new Dictionary<string, Func<IServiceProvider, IInferenceEngine>>
        {
            [DeterministicEngine.Kind] = sp => new DeterministicEngine(Options.Create(
                sp.GetRequiredService<IConfiguration>()
                    .GetSection(DeterministicEngineOptions.SectionName).Get<DeterministicEngineOptions>() ?? new DeterministicEngineOptions())),
        });
    }
}
