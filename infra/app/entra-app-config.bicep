// Step 2 of the Entra app registration (see entra-app.bicep): the full configuration, declared once appId and the
// function app's host name are known.
//  - identifierUris api://<appId> and one delegated scope (MCP.Access): the server asks Entra for
//    api://<appId>/MCP.Access openid profile offline_access when a user signs in.
//  - web redirect URI https://<host>/oauth/callback (Entra returns the user to our OAuth proxy there).
//  - requiredResourceAccess: Dynamics CRM user_impersonation (the On-Behalf-Of token for Dataverse), the sign-in
//    scopes on Microsoft Graph, and the app's own scope, so one admin consent covers everything.
//  - a federated identity credential trusting the user-assigned managed identity: no client secret in Azure.
extension microsoftGraphV1

param uniqueName string
param displayName string
param appId string
param tenantId string
param mcpScope string
param redirectUri string
param managedIdentityPrincipalId string

@description('Extra web redirect URIs, e.g. http://localhost:7071/oauth/callback for local development.')
param extraRedirectUris array = []

var identifierUri = 'api://${appId}'
var mcpScopeId = guid(uniqueName, 'oauth2PermissionScope', mcpScope)

// Well-known first-party application and permission ids.
var dynamicsCrmAppId = '00000007-0000-0000-c000-000000000000'
var dynamicsUserImpersonationId = '78ce3f0f-a1ce-49c2-8cde-64b5c0896db4'
var microsoftGraphAppId = '00000003-0000-0000-c000-000000000000'
var graphSignInScopeIds = [
  '37f7f235-527c-4136-accd-4a02d197296e' // openid
  '14dad69e-099b-42c9-810b-d002981feec1' // profile
  '7427e0e9-2fba-42fe-b0c0-848c9e6a8182' // offline_access
  'e1fe6dd8-ba31-4d61-89e7-88639da4683d' // User.Read
]
var graphSignInAccess = [for scopeId in graphSignInScopeIds: { id: scopeId, type: 'Scope' }]

resource application 'Microsoft.Graph/applications@v1.0' = {
  uniqueName: uniqueName
  displayName: displayName
  signInAudience: 'AzureADMyOrg'
  identifierUris: [identifierUri]
  api: {
    requestedAccessTokenVersion: 2
    oauth2PermissionScopes: [
      {
        id: mcpScopeId
        value: mcpScope
        type: 'User'
        isEnabled: true
        adminConsentDisplayName: 'Use Dataverse through MCP clients'
        adminConsentDescription: 'Lets MCP clients such as ChatGPT and Claude read and change Dataverse data as the signed-in user, within that user\'s Dataverse security roles.'
        userConsentDisplayName: 'Use Dataverse through MCP clients'
        userConsentDescription: 'Lets the AI assistant you connect read and change Dataverse data as you, within your Dataverse security roles.'
      }
    ]
  }
  web: {
    redirectUris: concat([redirectUri], extraRedirectUris)
    implicitGrantSettings: {
      enableAccessTokenIssuance: false
      enableIdTokenIssuance: false
    }
  }
  requiredResourceAccess: [
    {
      resourceAppId: dynamicsCrmAppId
      resourceAccess: [{ id: dynamicsUserImpersonationId, type: 'Scope' }]
    }
    {
      resourceAppId: microsoftGraphAppId
      resourceAccess: graphSignInAccess
    }
    {
      resourceAppId: appId
      resourceAccess: [{ id: mcpScopeId, type: 'Scope' }]
    }
  ]
}

resource managedIdentityCredential 'Microsoft.Graph/applications/federatedIdentityCredentials@v1.0' = {
  name: '${application.uniqueName}/function-app-managed-identity'
  description: 'The function app\'s user-assigned managed identity signs client assertions for this app.'
  issuer: '${environment().authentication.loginEndpoint}${tenantId}/v2.0'
  subject: managedIdentityPrincipalId
  audiences: ['api://AzureADTokenExchange']
}

output identifierUri string = identifierUri
output scope string = '${identifierUri}/${mcpScope}'
