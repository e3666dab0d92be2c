using Amazon.Runtime;
using Amazon.S3;
using Dapper;
using KimiAudio.Infrastructure.Data;
using KimiAudio.Infrastructure.Resilience;
using KimiAudio.Infrastructure.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;
using Polly;

namespace KimiAudio.Infrastructure;

public static class ServiceCollectionExtensions
{
    /// <summary>The "s3" and "postgres" resilience pipelines: transient faults only, exponential back-off with jitter.</summary>
    public static IServiceCollection AddPipelineResilience(this IServiceCollection services)
    {
        services.AddOptions<ResilienceOptions>().BindConfiguration(ResilienceOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddResiliencePipeline(PipelineResilience.S3, (builder, context) =>
        {
            var o = context.ServiceProvider.GetRequiredService<IOptions<ResilienceOptions>>().Value;
            builder.AddTransientRetry(o.S3MaxRetries, o.S3BaseDelayMs, PipelineResilience.IsTransientS3);
        });
        services.AddResiliencePipeline(PipelineResilience.Postgres, (builder, context) =>
        {
            var o = context.ServiceProvider.GetRequiredService<IOptions<ResilienceOptions>>().Value;
            builder.AddTransientRetry(o.PostgresMaxRetries, o.PostgresBaseDelayMs, PipelineResilience.IsTransientPostgres);
        });
        return services;
    }

    /// <summary>S3-compatible object store (with the emulator workarounds when S3:Emulator is true).</summary>
    public static IServiceCollection AddObjectStore(this IServiceCollection services)
    {
        services.AddOptions<S3Options>().BindConfiguration(S3Options.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IAmazonS3>(sp =>
        {
            var o = sp.GetRequiredService<IOptions<S3Options>>().Value;
            var config = new AmazonS3Config
            {
                ForcePathStyle = o.ForcePathStyle,
                AuthenticationRegion = o.Region,
                Timeout = TimeSpan.FromSeconds(o.RequestTimeoutSeconds),
                MaxErrorRetry = 0, // retries belong to the "s3" resilience pipeline: one retry layer per failure domain
            };
            if (string.IsNullOrEmpty(o.ServiceUrl)) config.RegionEndpoint = Amazon.RegionEndpoint.GetBySystemName(o.Region);
            else config.ServiceURL = o.ServiceUrl;
            if (o.Emulator)
            {
                NoChunkEncodingCustomizer.RegisterOnce();
                config.RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED;
                config.ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED;
            }
            return new AmazonS3Client(new BasicAWSCredentials(o.AccessKey, o.SecretKey), config);
        });
        services.AddSingleton<IObjectStore, S3ObjectStore>();
        return services;
    }

    /// <summary>One NpgsqlDataSource for the process, Dapper's snake_case mapping, and the start-up schema check.</summary>
    public static IServiceCollection AddPipelineDatabase(this IServiceCollection services)
    {
        DefaultTypeMap.MatchNamesWithUnderscores = true;
        services.AddOptions<DatabaseOptions>().BindConfiguration(DatabaseOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton(sp => new NpgsqlDataSourceBuilder(sp.GetRequiredService<IOptions<DatabaseOptions>>().Value.ConnectionString).Build());
        services.AddHostedService<SchemaGuard>();
        return services;
    }
}
